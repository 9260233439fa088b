package dev.vectorgrad.peft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Fuzzes what {@code finetune --resume} reads (issue 16): {@code finetune.json} alone ({@link Finetune#readOptions})
 * and whole run folders ({@link Finetune#resume}) of four 2-step runs on testdata's {@code gpt2-small-base} —
 * AdaLoRA (with its allocator state), LoRA-Pro (its own optimiser file), LoRA-GA (its init file) and LoRA-Drop (its
 * selection in {@code finetune.json}) — with one file
 * mutated: {@code finetune.json} as JSON, the {@code .safetensors} files as safetensors. Each loads or is rejected
 * with an {@link IllegalArgumentException} naming the mutated file. 1,000 tries from a fixed seed in CI; more with
 * {@code -Dvectorgrad.fuzz.tries=1000000} (see {@link Fuzz}).
 */
@AddLifecycleHook(Fuzz.Settings.class)
class FinetuneStateFuzzTest {
    static final Path DIR = Fuzz.tempDir("finetune");
    static final AtomicLong COUNTER = new AtomicLong();
    static final List<String> METHODS = List.of("adalora", "lora-pro", "lora-ga", "lora-drop");
    static final List<Finetune.Options> OPTIONS = new ArrayList<>();
    static final List<Path> RUNS = new ArrayList<>();
    static final Path MODEL;
    static final String TEXT;

    static {
        try {
            Path[] p = FinetuneTest.setUp(Files.createDirectory(DIR.resolve("in")));
            MODEL = p[0];
            TEXT = Files.readString(p[1]).substring(0, 3000);
            for (String m : METHODS) {
                Finetune.Options o = FinetuneTest.opts(m, 2).withEvalInterval(1);
                if (m.equals("adalora")) o = o.withTargetR(2);
                if (m.equals("lora-ga")) o = o.withGaBatches(1);
                if (m.equals("lora-drop")) // 2 steps: sample phase 1, restructured at 2 (finetune.json holds the selection); 6 modules, some shared
                    o = new Finetune.Options(m, o.r(), o.alpha(), List.of("c_attn", "c_proj", "c_fc"), o.iters(), o.batch(), o.block(), o.lr(), o.gradAccum(),
                            o.evalInterval(), o.evalIters(), o.seed());
                Path out = DIR.resolve("run-" + m);
                new Finetune(MODEL, TEXT, o).run(2, out, FinetuneTest.QUIET, false);
                OPTIONS.add(o);
                RUNS.add(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The files of a run that {@code --resume} reads. */
    static List<String> files(String method) {
        List<String> f = new ArrayList<>(List.of(Finetune.STATE, Finetune.TRAINABLE, Finetune.OPTIM));
        if (method.equals("adalora")) f.add(Finetune.ALLOCATOR);
        if (method.equals("lora-ga")) f.add(Finetune.GA_INIT);
        return f;
    }

    @AfterContainer
    static void cleanUp() {
        Fuzz.deleteTree(DIR);
    }

    @Provide
    Arbitrary<List<JsonEdit>> tree() {
        return Fuzz.jsonEdits();
    }

    @Provide
    Arbitrary<List<Mutation>> bytes() {
        return Fuzz.mutations();
    }

    @Property
    void finetuneJsonReadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 3) int base, @ForAll @IntRange(min = 0, max = 2) int mode,
                                                 @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("j" + COUNTER.incrementAndGet()));
        try {
            Path file = Fuzz.write(dir.resolve(Finetune.STATE), Fuzz.mutateJsonFile(Files.readAllBytes(RUNS.get(base).resolve(Finetune.STATE)), mode, tree, bytes));
            Finetune.Options o = Fuzz.load(file, () -> Finetune.readOptions(dir));
            if (o != null) assertThat(Finetune.METHODS).contains(o.method());
        } finally {
            Fuzz.deleteTree(dir);
        }
    }

    /** {@code which} picks the mutated file among the run's ({@link #files}, modulo their number). */
    @Property
    void runFolderResumesOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 3) int base, @ForAll @IntRange(min = 0, max = 4) int which,
                                                @ForAll @IntRange(min = 0, max = 3) int mode, @ForAll("tree") List<JsonEdit> tree,
                                                @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("r" + COUNTER.incrementAndGet()));
        try {
            List<String> files = files(METHODS.get(base));
            for (String f : files) Files.copy(RUNS.get(base).resolve(f), dir.resolve(f));
            String name = files.get(which % files.size());
            byte[] orig = Files.readAllBytes(dir.resolve(name));
            Path file = Fuzz.write(dir.resolve(name), name.endsWith(".json") ? Fuzz.mutateJsonFile(orig, mode, tree, bytes)
                    : Fuzz.mutateSafetensors(orig, mode, tree, bytes));
            Finetune f = Fuzz.load(file, () -> Finetune.resume(MODEL, TEXT, dir, OPTIONS.get(base)));
            if (f != null) assertThat(f.step()).isGreaterThanOrEqualTo(0);
        } finally {
            Fuzz.deleteTree(dir);
        }
    }
}
