package dev.vectorgrad.transformer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import dev.vectorgrad.testdata.FuzzContainer;
import dev.vectorgrad.testdata.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Fuzzes the Hugging Face GPT-2 readers (issue 12 §5): {@code config.json} alone ({@link GptConfig#readHf}) and a
 * model directory ({@link HfGpt2#load}) whose {@code config.json} or {@code model.safetensors} is a mutant of
 * {@code testdata/hf/gpt2-small-base/model}. Every mutant loads or is rejected with an
 * {@link IllegalArgumentException} naming the file: never an {@code OutOfMemoryError} from a config that asks
 * for a model larger than its weights file. 1,000 tries from a fixed seed in CI; more with
 * {@code -Dvectorgrad.fuzz.tries=1000000} (see {@link Fuzz}).
 */
class GptConfigFuzzTest extends FuzzContainer {
    static final Path DIR = Fuzz.tempDir(GptConfigFuzzTest.class, "gpt2");
    static final AtomicLong COUNTER = new AtomicLong();
    static final Path MODEL = TestData.hf("gpt2-small-base/model");
    static final byte[] CONFIG = Fuzz.bytes(MODEL.resolve("config.json"));
    static final byte[] WEIGHTS = Fuzz.bytes(MODEL.resolve("model.safetensors"));

    @Property
    void configJsonReadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 2) int mode, @ForAll("tree") List<JsonEdit> tree,
                                               @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path file = Fuzz.write(DIR.resolve("config" + COUNTER.incrementAndGet() + ".json"), Fuzz.mutateJsonFile(CONFIG, mode, tree, bytes));
        try {
            GptConfig c = Fuzz.load(file, () -> GptConfig.readHf(file));
            if (c != null) assertThat(GptConfig.fromHfJson(c.toHfJson(), "round trip")).isEqualTo(c);
        } finally {
            Files.delete(file);
        }
    }

    /** {@code which} 0: config.json mutated; 1: model.safetensors mutated; 2: both. */
    @Property
    void modelDirectoryLoadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 2) int which, @ForAll @IntRange(min = 0, max = 3) int mode,
                                                   @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("model" + COUNTER.incrementAndGet()));
        try {
            Fuzz.write(dir.resolve("config.json"), which == 1 ? CONFIG : Fuzz.mutateJsonFile(CONFIG, mode, tree, bytes));
            Fuzz.write(dir.resolve("model.safetensors"), which == 0 ? WEIGHTS : Fuzz.mutateSafetensors(WEIGHTS, mode, tree, bytes));
            Gpt model = Fuzz.load(dir, () -> HfGpt2.load(dir));
            if (model != null) {
                long n = 0;
                for (Variable p : model.namedParameters().values()) n += p.data().numel();
                assertThat(n).isEqualTo(model.config().parameterCount());
            }
        } finally {
            Fuzz.deleteTree(dir);
        }
    }
}
