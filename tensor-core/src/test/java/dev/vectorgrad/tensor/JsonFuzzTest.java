package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import dev.vectorgrad.testdata.FuzzContainer;
import dev.vectorgrad.testdata.TestData;
import java.nio.charset.StandardCharsets;
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
 * Fuzzes the JSON parser (issue 12 §5) through {@link Json#read}: the repository's {@code config.json},
 * {@code adapter_config.json} files and a safetensors header, mutated as bytes and as trees, plus deep nesting
 * and huge numbers. Every mutant either parses, and then writes back to text that parses to the same value, or
 * is rejected with an {@link IllegalArgumentException} naming the file; never a {@code StackOverflowError}.
 * 1,000 tries from a fixed seed in CI; more with {@code -Dvectorgrad.fuzz.tries=1000000} (see {@link Fuzz}).
 */
class JsonFuzzTest extends FuzzContainer {
    static final Path DIR = Fuzz.tempDir(JsonFuzzTest.class, "json");
    static final AtomicLong COUNTER = new AtomicLong();
    static final List<byte[]> BASES = List.of(
            Fuzz.bytes(TestData.hf("gpt2-small-base/model/config.json")),
            Fuzz.bytes(TestData.hf("gpt2-small-lora/adapter/adapter_config.json")),
            Fuzz.bytes(TestData.hf("gpt2-other-adalora/adapter/adapter_config.json")),
            Fuzz.bytes(TestData.hf("gpt2-small-vera/adapter/adapter_config.json")),
            Fuzz.SafetensorsParts.of(Fuzz.bytes(TestData.hf("gpt2-small-lora/adapter/adapter_model.safetensors"))).header());

    @Provide
    Arbitrary<Integer> base() {
        return Arbitraries.integers().between(0, BASES.size() - 1);
    }

    @Property
    void parsesOrRejectsNamingTheFile(@ForAll("base") int base, @ForAll @IntRange(min = 0, max = 2) int mode,
                                      @ForAll("tree") List<JsonEdit> tree, @ForAll("bytes") List<Mutation> bytes) {
        check(Fuzz.mutateJsonFile(BASES.get(base), mode, tree, bytes));
    }

    /** Deep nesting, closed or not, of arrays and objects, around a huge number. */
    @Property
    void deepNestingIsBoundedNotAStackOverflow(@ForAll @IntRange(min = 1, max = 20_000) int depth, @ForAll boolean objects,
                                               @ForAll boolean closed, @ForAll @IntRange(min = 0, max = 28) int number) {
        String open = objects ? "{\"a\":" : "[", close = objects ? "}" : "]";
        String num = List.of("0", "-1", "1e309", "1" + "0".repeat(400), "9223372036854775808", "-0.0", "4.9e-324", "1e-400", "123456789".repeat(50),
                "0." + "1".repeat(300), "1e999999999", "2147483648", "17", "-", "01", "1.", "1e", ".5", "+1", "NaN", "Infinity", "0x10", "1_000",
                "1e+", "--1", "1.0e-5", "18446744073709551616", "true", "nul").get(number);
        String text = open.repeat(depth) + num + (closed ? close.repeat(depth) : "");
        Object v = check(text.getBytes(StandardCharsets.US_ASCII));
        if (v != null) assertThat(depth).isLessThanOrEqualTo(Json.MAX_DEPTH);
    }

    /** Writes the mutant to a file, reads it, and checks the round trip of what parsed. */
    static Object check(byte[] mutant) {
        Path file = Fuzz.write(DIR.resolve("j" + COUNTER.incrementAndGet() + ".json"), mutant);
        try {
            Object v = Fuzz.load(file, () -> Json.read(file));
            if (v != null) assertThat(Json.parse(Json.write(v))).isEqualTo(v);
            return v;
        } finally {
            file.toFile().delete();
        }
    }
}
