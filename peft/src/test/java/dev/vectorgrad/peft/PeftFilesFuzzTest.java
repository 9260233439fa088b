package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import dev.vectorgrad.testdata.FuzzContainer;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import dev.vectorgrad.tensor.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Fuzzes the adapter readers (issue 12 §5): {@code adapter_config.json} alone ({@link PeftFiles#readConfig}), PEFT
 * directories ({@link PeftFiles#load}: the LoRA and VeRA dumps of {@code testdata/hf} with their config or weights
 * mutated) and native adapter files ({@link PeftFiles#loadNative}: LoRA on linears and an embedding, and VeRA,
 * written by {@link PeftFiles#saveNative}, then mutated), each loaded onto a fresh GPT of the dumps' shape. Every
 * mutant loads or is rejected with an {@link IllegalArgumentException} naming the file. 1,000 tries from a fixed
 * seed in CI; more with {@code -Dvectorgrad.fuzz.tries=1000000} (see {@link Fuzz}).
 */
class PeftFilesFuzzTest extends FuzzContainer {
    static final Path DIR = Fuzz.tempDir(PeftFilesFuzzTest.class, "peft");
    static final AtomicLong COUNTER = new AtomicLong();
    static final GptConfig BASE;
    static final List<Path> ADAPTERS = List.of(TestData.hf("gpt2-small-lora/adapter"), TestData.hf("gpt2-small-vera/adapter"),
            TestData.hf("gpt2-small-vera-noproj/adapter"));
    static final List<byte[]> CONFIGS = List.of(Fuzz.bytes(ADAPTERS.get(0).resolve(PeftFiles.CONFIG)),
            Fuzz.bytes(ADAPTERS.get(1).resolve(PeftFiles.CONFIG)), Fuzz.bytes(ADAPTERS.get(2).resolve(PeftFiles.CONFIG)),
            Fuzz.bytes(TestData.hf("gpt2-other-adalora/adapter/" + PeftFiles.CONFIG)));
    static final List<byte[]> NATIVE;

    static {
        try {
            BASE = GptConfig.readHf(TestData.hf("gpt2-small-base/model"));
            NATIVE = List.of(nativeFile("lora", PeftConfig.lora(4, 8, "c_attn", "c_proj", "wte").rslora(true)),
                    nativeFile("vera", PeftConfig.vera(4, 11L, "c_fc", "c_attn")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A native adapter file of {@code cfg} on a GPT of the dumps' shape, with non-zero weights. */
    static byte[] nativeFile(String name, PeftConfig.Builder cfg) throws IOException {
        PeftModel pm = PeftModel.wrap(new Gpt(BASE, 3), cfg);
        PeftModelTest.randomise(pm, "default", 5);
        Path f = DIR.resolve(name + ".safetensors");
        PeftFiles.saveNative(pm, "default", f);
        return Fuzz.bytes(f);
    }

    /** The file with the config JSON held in its {@code __metadata__} mutated (header length rewritten). */
    static byte[] mutateNativeConfig(byte[] file, int mode, List<JsonEdit> tree, List<Mutation> bytes) {
        Fuzz.SafetensorsParts p = Fuzz.SafetensorsParts.of(file);
        Map<String, Object> header = Json.asMap(Json.parse(new String(p.header(), StandardCharsets.UTF_8).strip()), "header");
        Map<String, Object> md = Json.asMap(header.get("__metadata__"), "__metadata__");
        byte[] cfg = Json.asString(md.get(PeftFiles.NATIVE_CONFIG), "config").getBytes(StandardCharsets.UTF_8);
        byte[] mutated = Fuzz.mutateJsonFile(cfg, mode, tree, bytes);
        md.put(PeftFiles.NATIVE_CONFIG, new String(mutated, StandardCharsets.UTF_8)); // invalid UTF-8 becomes U+FFFD
        return p.with(Json.write(header).getBytes(StandardCharsets.UTF_8));
    }

    @Property
    void adapterConfigReadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 3) int base, @ForAll @IntRange(min = 0, max = 2) int mode,
                                                  @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("c" + COUNTER.incrementAndGet()));
        try {
            Path file = Fuzz.write(dir.resolve(PeftFiles.CONFIG), Fuzz.mutateJsonFile(CONFIGS.get(base), mode, tree, bytes));
            PeftConfig c = Fuzz.load(file, () -> PeftFiles.readConfig(dir));
            if (c != null) assertThat(c.r()).isPositive();
        } finally {
            Fuzz.deleteTree(dir);
        }
    }

    /** {@code which} 0: the config mutated; 1: the weights; 2: both. */
    @Property
    void adapterDirectoryLoadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 2) int base, @ForAll @IntRange(min = 0, max = 2) int which,
                                                     @ForAll @IntRange(min = 0, max = 3) int mode, @ForAll("tree") List<JsonEdit> tree,
                                                     @ForAll("bytes") List<Mutation> bytes) throws Exception {
        Path dir = Files.createDirectory(DIR.resolve("d" + COUNTER.incrementAndGet()));
        try {
            byte[] config = Fuzz.bytes(ADAPTERS.get(base).resolve(PeftFiles.CONFIG)), weights = Fuzz.bytes(ADAPTERS.get(base).resolve(PeftFiles.WEIGHTS));
            Fuzz.write(dir.resolve(PeftFiles.CONFIG), which == 1 ? config : Fuzz.mutateJsonFile(config, mode, tree, bytes));
            Fuzz.write(dir.resolve(PeftFiles.WEIGHTS), which == 0 ? weights : Fuzz.mutateSafetensors(weights, mode, tree, bytes));
            PeftModel pm = Fuzz.load(dir, () -> PeftFiles.load(new Gpt(BASE), dir));
            if (pm != null) assertThat(pm.adapterNames()).containsExactly("default");
        } finally {
            Fuzz.deleteTree(dir);
        }
    }

    /** {@code mode} 0-3: {@link Fuzz#mutateSafetensors}; 4-6: the config JSON inside the metadata mutated. */
    @Property
    void nativeAdapterLoadsOrRejectsNamingTheFile(@ForAll @IntRange(min = 0, max = 1) int base, @ForAll @IntRange(min = 0, max = 6) int mode,
                                                  @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) {
        byte[] mutant = mode < 4 ? Fuzz.mutateSafetensors(NATIVE.get(base), mode, tree, bytes) : mutateNativeConfig(NATIVE.get(base), mode - 4, tree, bytes);
        Path file = Fuzz.write(DIR.resolve("n" + COUNTER.incrementAndGet() + ".safetensors"), mutant);
        try {
            PeftModel pm = Fuzz.load(file, () -> {
                PeftModel p = PeftModel.of(new Gpt(BASE));
                PeftFiles.loadNative(p, file, "default");
                return p;
            });
            if (pm != null) assertThat(pm.adapterNames()).containsExactly("default");
        } finally {
            file.toFile().delete();
        }
    }
}
