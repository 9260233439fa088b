package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.FuzzContainer;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes the ONNX protobuf reader and the BERT mapping behind it (issue 15 §1, "fuzz the reader like the other
 * loaders"): the 1-layer BERT export that {@link OnnxReaderTest} writes field by field, and a graph holding only an
 * int64 tensor with varint-packed data, are mutated with the shared byte edits ({@link Fuzz#mutations()}: bit flips,
 * truncation, deleted / inserted / duplicated ranges, 8-byte lengths, random files) plus protobuf ones (a varint
 * bomb, a tag or a length replaced by an extreme varint). Every mutant either loads — read, every tensor decoded to
 * its dims, the state dict mapped and put into a {@link Bert} of the config it implies, as {@code MiniLm.load} does —
 * or is refused with an {@link IllegalArgumentException} naming the file; never another exception, a hang or an
 * out-of-memory. 1,000 tries from a fixed seed in CI; the long run as the other fuzz tests
 * ({@code -Dvectorgrad.fuzz.tries=1000000 -Dvectorgrad.fuzz.seed=random}, see {@link Fuzz}).
 */
class OnnxReaderFuzzTest extends FuzzContainer {
    static final Path DIR = Fuzz.tempDir(OnnxReaderFuzzTest.class, "onnx");
    static final AtomicLong COUNTER = new AtomicLong();
    static final List<byte[]> BASES = List.of(OnnxReaderTest.tinyBert(null), packedInt64Graph());

    /** A protobuf edit: what to write ({@code kind}) at byte {@code at} (mod the size). */
    record PbEdit(int kind, int at, long value) {}

    @Provide
    Arbitrary<Integer> base() {
        return Arbitraries.integers().between(0, BASES.size() - 1);
    }

    @Provide
    Arbitrary<List<PbEdit>> pb() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, Integer.MAX_VALUE), Arbitraries.longs())
                .as(PbEdit::new).list().ofMinSize(0).ofMaxSize(2);
    }

    @Property
    void loadsOrRejectsNamingTheFile(@ForAll("base") int base, @ForAll("bytes") List<Mutation> bytes, @ForAll("pb") List<PbEdit> pb) {
        byte[] mutant = Fuzz.mutate(BASES.get(base), bytes);
        for (PbEdit e : pb) mutant = apply(mutant, e);
        Path file = Fuzz.write(DIR.resolve("m" + COUNTER.incrementAndGet() + ".onnx"), mutant);
        try {
            Fuzz.load(file, () -> loadEverything(file));
        } finally {
            file.toFile().delete();
        }
    }

    /** What loading a model does, plus a check of each tensor's decoded length. */
    static Void loadEverything(Path file) throws Exception {
        String name = file.toString();
        OnnxReader.Model m = OnnxReader.read(Files.readAllBytes(file), name);
        for (OnnxReader.Tensor t : m.initializers().values()) {
            int n = t.dataType() == OnnxReader.FLOAT ? t.floats().length : t.longs().length;
            assertThat((long) n).isEqualTo(t.numel());
        }
        OnnxBert.Loaded l = OnnxBert.stateDict(m, 2, 1e-12f, name);
        new Bert(l.config()).loadStateDict(l.state(), true);
        return null;
    }

    /** Overwrites bytes at {@code at} with a varint: 0: ten 0xff bytes then 0x01 (too long); 1: 2^63 − 1; 2: the value; 3: 2^31. */
    static byte[] apply(byte[] b, PbEdit e) {
        if (b.length == 0) return b;
        int at = Math.floorMod(e.at(), b.length);
        byte[] v = switch (e.kind()) {
            case 0 -> new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1};
            case 1 -> varint(Long.MAX_VALUE);
            case 2 -> varint(e.value());
            default -> varint(1L << 31);
        };
        byte[] out = b.clone();
        System.arraycopy(v, 0, out, at, Math.min(v.length, out.length - at));
        return out;
    }

    static byte[] varint(long x) {
        return new OnnxReaderTest.Pb().varint(x).done();
    }

    /** A graph with one int64 initializer whose values are a packed varint field (int64_data), dims packed. */
    static byte[] packedInt64Graph() {
        OnnxReaderTest.Pb t = new OnnxReaderTest.Pb();
        t.bytes(1, new OnnxReaderTest.Pb().varint(2).varint(3).done()).tag(2, 0).varint(OnnxReader.INT64).string(8, "ids");
        OnnxReaderTest.Pb data = new OnnxReaderTest.Pb();
        for (long x : new long[] {0, 1, 300, -1, Long.MAX_VALUE, 1L << 40}) data.varint(x);
        t.bytes(7, data.done());
        return new OnnxReaderTest.Pb().msg(7, new OnnxReaderTest.Pb().string(2, "g").msg(5, t)).done();
    }
}
