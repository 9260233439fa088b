package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Safetensors.DType;
import dev.vectorgrad.tensor.Safetensors.TensorInfo;
import dev.vectorgrad.testdata.Fuzz;
import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import dev.vectorgrad.testdata.FuzzContainer;
import dev.vectorgrad.testdata.TestData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes the safetensors reader (issue 12 §5): real files from {@code testdata/hf} and one with every dtype, with
 * their bytes, header text and header JSON mutated (dtypes, shapes, offsets, lengths, truncations, random bytes).
 * Every mutant either loads, every tensor decoding to its shape, or is rejected with a
 * {@link SafetensorsException} naming the file. 1,000 tries from a fixed seed in CI; more with
 * {@code -Dvectorgrad.fuzz.tries=1000000 -Dvectorgrad.fuzz.seed=random} (see {@link Fuzz}).
 */
class SafetensorsFuzzTest extends FuzzContainer {
    static final Path DIR = Fuzz.tempDir(SafetensorsFuzzTest.class, "safetensors");
    static final AtomicLong COUNTER = new AtomicLong();
    static final List<byte[]> BASES = List.of(
            Fuzz.bytes(TestData.hf("gpt2-small-base/model/model.safetensors")),
            Fuzz.bytes(TestData.hf("gpt2-small-lora/adapter/adapter_model.safetensors")),
            everyDtype());

    @Provide
    Arbitrary<Integer> base() {
        return Arbitraries.integers().between(0, BASES.size() - 1);
    }

    @Provide
    Arbitrary<Integer> mode() {
        return Arbitraries.integers().between(0, 3);
    }

    @Property
    void loadsOrRejectsNamingTheFile(@ForAll("base") int base, @ForAll("mode") int mode, @ForAll("tree") List<JsonEdit> tree,
                                     @ForAll("bytes") List<Mutation> bytes) {
        byte[] mutant = Fuzz.mutateSafetensors(BASES.get(base), mode, tree, bytes);
        Path file = Fuzz.write(DIR.resolve("t" + COUNTER.incrementAndGet() + ".safetensors"), mutant);
        try {
            Fuzz.load(file, () -> loadEverything(file, mutant.length));
        } finally {
            file.toFile().delete();
        }
    }

    /** Opens the file and decodes every tensor as its dtype allows; checks what a correct load must satisfy. */
    static Void loadEverything(Path file, long size) throws Exception {
        try (SafetensorsFile f = Safetensors.read(file)) {
            long covered = 0;
            for (String name : f.names()) {
                TensorInfo info = f.info(name);
                covered += info.byteLength();
                assertThat(info.byteLength()).isEqualTo(info.numel() * info.dtype().size());
                if (info.dtype().isFloat()) {
                    assertThat(f.tensor(name).shape()).isEqualTo(info.shape());
                } else if (info.dtype() == DType.I64 || info.dtype() == DType.I32) {
                    assertThat(f.longs(name)).hasSize((int) info.numel());
                    try {
                        assertThat(f.intTensor(name).shape()).isEqualTo(info.shape());
                    } catch (SafetensorsException e) { // an I64 beyond the int range: a clean refusal
                        assertThat(e).hasMessageContaining("does not fit in an int");
                    }
                } else {
                    assertThat(f.rawBytes(name).remaining()).isEqualTo((int) info.byteLength());
                }
            }
            assertThat(covered).isEqualTo(f.dataLength()).isLessThanOrEqualTo(size);
        }
        return null;
    }

    /** A small file with one tensor of each dtype, a scalar, an empty tensor and metadata. */
    static byte[] everyDtype() {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        int i = 0;
        for (DType d : DType.values()) {
            long[] shape = i % 3 == 0 ? new long[] {2, 3} : i % 3 == 1 ? new long[] {} : new long[] {4, 0};
            long numel = 1;
            for (long s : shape) numel *= s;
            long len = numel * d.size();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", d.name());
            e.put("shape", shape);
            e.put("data_offsets", new long[] {offset, offset + len});
            header.put("t" + i++ + "_" + d.name().toLowerCase(), e);
            offset += len;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        for (int k = 0; k < offset; k++) b.put((byte) (k * 37 + 11));
        return b.array();
    }
}
