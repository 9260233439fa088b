package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import dev.vectorgrad.testdata.FuzzContainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Fuzzes checkpoint loading (issue 12 §5): a checkpoint written by {@link Trainer#save} after two steps of a tiny
 * GPT, with one of its files mutated ({@code gpt.json}, {@code trainer.json}, {@code tokenizer.json},
 * {@code config.json} as JSON; {@code model.safetensors}, {@code optimizer.safetensors} as safetensors), is read by
 * {@link Trainer#resume}, {@link Trainer#loadModel} and {@link Trainer#readOptions}. Each loads or is rejected with
 * an {@link IllegalArgumentException} naming the checkpoint's file. 1,000 tries from a fixed seed in CI; more with
 * {@code -Dvectorgrad.fuzz.tries=1000000} (see {@link Fuzz}).
 */
class CheckpointFuzzTest extends FuzzContainer {
    static final String TEXT = TinyCheckpoint.TEXT;
    static final List<String> FILES = List.of("gpt.json", "trainer.json", "tokenizer.json", "config.json", "model.safetensors",
            "optimizer.safetensors");
    static final Path DIR = Fuzz.tempDir(CheckpointFuzzTest.class, "checkpoint");
    static final Path BASE = TinyCheckpoint.write(DIR.resolve("base"));
    static final AtomicLong COUNTER = new AtomicLong();

    @Provide
    Arbitrary<String> file() {
        return Arbitraries.of(FILES);
    }

    @Property
    void checkpointLoadsOrRejectsNamingTheFile(@ForAll("file") String name, @ForAll @IntRange(min = 0, max = 3) int mode,
                                               @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("ck" + COUNTER.incrementAndGet()));
        try {
            for (String f : FILES) Files.copy(BASE.resolve(f), dir.resolve(f));
            byte[] base = Files.readAllBytes(BASE.resolve(name));
            Fuzz.write(dir.resolve(name), name.endsWith(".safetensors") ? Fuzz.mutateSafetensors(base, mode, tree, bytes)
                    : Fuzz.mutateJsonFile(base, mode, tree, bytes));
            Trainer t = Fuzz.load(dir, () -> Trainer.resume(dir, TEXT, null));
            if (t != null) assertThat(t.iter()).isGreaterThanOrEqualTo(0);
            Fuzz.load(dir, () -> Trainer.loadModel(dir));
            Fuzz.load(dir, () -> Trainer.readOptions(dir));
        } finally {
            Fuzz.deleteTree(dir);
        }
    }
}
