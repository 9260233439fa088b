package dev.vectorgrad.tensor;

import dev.vectorgrad.testdata.TestData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Safetensors.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------ round trips

    @Test
    void roundTripsFloatsIntsAndMetadata() throws IOException {
        Tensor scalar = Tensor.scalar(3.25f);
        Tensor vec = Tensor.vector(1f, -2f, Float.MIN_VALUE, Float.NaN, Float.NEGATIVE_INFINITY, -0f);
        Tensor cube = Init.normal(Tensor.zeros(2, 3, 4), new Rng(1), 0, 1);
        Tensor empty = Tensor.zeros(0, 3);
        Tensor view = Tensor.arange(12).reshape(3, 4).transpose(0, 1); // not contiguous
        IntTensor ids = IntTensor.of(new int[] {1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE, 0, 7}, 2, 3);
        Path f = dir.resolve("t.safetensors");
        Safetensors.writer()
                .put("scalar", scalar).put("vec", vec).put("cube", cube).put("empty", empty).put("view", view)
                .put("ids", ids).putLongs("longs", new long[] {Long.MAX_VALUE, -1, 1L << 40}, 3).putLongs("none", new long[0], 0, 2)
                .metadata("format", "pt").metadata("note", "é \"quoted\"")
                .write(f);

        try (SafetensorsFile r = Safetensors.read(f)) {
            // ordered by dtype size (I64 first), then name
            assertThat(r.names()).containsExactly("ids", "longs", "none", "cube", "empty", "scalar", "vec", "view");
            assertThat(r.metadata()).containsExactly(Map.entry("format", "pt"), Map.entry("note", "é \"quoted\""));
            assertThat(r.info("scalar").shape()).isEmpty();
            assertThat(r.info("scalar").dtype()).isEqualTo(DType.F32);
            assertThat(r.tensor("scalar").item()).isEqualTo(3.25f);
            assertThat(r.tensor("scalar").rank()).isZero();
            assertBits(r.tensor("vec"), vec);
            assertBits(r.tensor("cube"), cube);
            assertThat(r.tensor("empty").shape()).containsExactly(0, 3);
            assertThat(r.info("empty").byteLength()).isZero();
            assertBits(r.tensor("view"), view.contiguous());
            assertThat(r.tensor("view").shape()).containsExactly(4, 3);
            assertThat(r.info("ids").dtype()).isEqualTo(DType.I64);
            assertThat(r.intTensor("ids").storage()).containsExactly(ids.storage());
            assertThat(r.intTensor("ids").shape()).containsExactly(2, 3);
            assertThat(r.longs("ids")).containsExactly(1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE, 0, 7);
            assertThat(r.longs("longs")).containsExactly(Long.MAX_VALUE, -1, 1L << 40);
            assertThat(r.longs("none")).isEmpty();
            assertThat(r.info("none").shape()).containsExactly(0, 2);
            assertThatThrownBy(() -> r.intTensor("longs")).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("'longs'").hasMessageContaining("does not fit in an int");
            assertThatThrownBy(() -> r.tensor("ids")).isInstanceOf(SafetensorsException.class).hasMessageContaining("'ids'");
            assertThatThrownBy(() -> r.intTensor("vec")).isInstanceOf(SafetensorsException.class).hasMessageContaining("'vec'");
            assertThatThrownBy(() -> r.tensor("nope")).isInstanceOf(SafetensorsException.class).hasMessageContaining("'nope'");
        }

        Map<String, Tensor> all = Safetensors.readAll(f);
        assertThat(all.keySet()).containsExactly("cube", "empty", "scalar", "vec", "view");

        // layout: 8-byte length, header padded with spaces to a multiple of 8, starting with '{'
        byte[] bytes = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        assertThat(bytes[8]).isEqualTo((byte) '{');
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"__metadata__\":{\"format\":\"pt\",");
        assertThat(header.stripTrailing()).endsWith("}");

        // deterministic: the same content gives the same bytes
        Path g = dir.resolve("g.safetensors");
        Safetensors.writer().put("vec", vec).put("scalar", scalar).put("view", view).put("cube", cube).put("empty", empty)
                .putLongs("none", new long[0], 0, 2).putLongs("longs", new long[] {Long.MAX_VALUE, -1, 1L << 40}, 3).put("ids", ids)
                .metadata("note", "é \"quoted\"").metadata("format", "pt").write(g);
        assertThat(Files.readAllBytes(g)).isEqualTo(bytes);
    }

    @Test
    void writesNothingButTensorsWhenThereIsNoMetadata() throws IOException {
        Path f = dir.resolve("plain.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.vector(1, 2)));
        byte[] b = Files.readAllBytes(f);
        String header = new String(b, 8, b.length - 16, StandardCharsets.UTF_8).stripTrailing();
        assertThat(header).isEqualTo("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        Safetensors.write(dir.resolve("none.safetensors"), Map.of());
        try (SafetensorsFile r = Safetensors.read(dir.resolve("none.safetensors"))) {
            assertThat(r.names()).isEmpty();
            assertThat(r.metadata()).isEmpty();
        }
    }

    @Test
    void writerRejectsBadNames() {
        assertThatThrownBy(() -> Safetensors.writer().put("a", Tensor.scalar(1)).put("a", IntTensor.zeros(1)))
                .hasMessageContaining("'a'");
        assertThatThrownBy(() -> Safetensors.writer().put("__metadata__", Tensor.scalar(1))).hasMessageContaining("__metadata__");
        assertThatThrownBy(() -> Safetensors.writer().putLongs("x", new long[3], 2, 2)).hasMessageContaining("'x'");
    }

    // ------------------------------------------------------------ the Hugging Face fixtures

    @Test
    void readsTheGpt2Fixture() throws IOException {
        Path model = TestData.hf("gpt2-small-base/model/model.safetensors");
        Map<String, Object> cfg = Json.asMap(Json.read(TestData.hf("gpt2-small-base/model/config.json")), "config");
        int d = Json.asInt(cfg.get("n_embd"), "n_embd"), vocab = Json.asInt(cfg.get("vocab_size"), "vocab_size");
        int pos = Json.asInt(cfg.get("n_positions"), "n_positions"), layers = Json.asInt(cfg.get("n_layer"), "n_layer");
        try (SafetensorsFile f = Safetensors.read(model)) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.names()).hasSize(4 + 12 * layers).doesNotContain("lm_head.weight");
            assertThat(f.info("transformer.wte.weight").shape()).containsExactly(vocab, d);
            assertThat(f.info("transformer.wpe.weight").shape()).containsExactly(pos, d);
            assertThat(f.info("transformer.ln_f.weight").shape()).containsExactly(d);
            for (int l = 0; l < layers; l++) {
                String p = "transformer.h." + l + ".";
                assertThat(f.info(p + "attn.c_attn.weight").shape()).containsExactly(d, 3 * d);
                assertThat(f.info(p + "attn.c_attn.bias").shape()).containsExactly(3 * d);
                assertThat(f.info(p + "attn.c_proj.weight").shape()).containsExactly(d, d);
                assertThat(f.info(p + "mlp.c_fc.weight").shape()).containsExactly(d, 4 * d);
                assertThat(f.info(p + "mlp.c_proj.weight").shape()).containsExactly(4 * d, d);
                assertThat(f.info(p + "ln_1.weight").dtype()).isEqualTo(DType.F32);
            }
            Tensor wte = f.tensor("transformer.wte.weight");
            float[] v = wte.toArray();
            double sum = 0;
            for (float x : v) {
                assertThat(Float.isFinite(x)).isTrue();
                sum += Math.abs(x);
            }
            assertThat(sum).isPositive();
        }

        Path expected = TestData.hf("gpt2-small-base/expected.safetensors");
        try (SafetensorsFile e = Safetensors.read(expected)) {
            assertThat(e.info("input_ids").dtype()).isEqualTo(DType.I64);
            IntTensor ids = e.intTensor("input_ids");
            assertThat(ids.shape()).containsExactly(2, 16);
            for (int id : ids.storage()) assertThat(id).isBetween(0, vocab - 1);
            assertThat(e.intTensor("targets").shape()).containsExactly(2, 16);
            assertThat(e.tensor("base_logits").shape()).containsExactly(2, 16, vocab);
            assertThat(e.tensor("loss").numel()).isEqualTo(1);
            assertThat(e.metadata()).isEmpty();
        }
    }

    @Test
    void rewritingTheFixturesReproducesThemByteForByte() throws IOException {
        // Our writer uses the reference writer's layout, so re-saving what Python saved gives the same file.
        for (String rel : new String[] {"gpt2-small-base/model/model.safetensors", "gpt2-small-base/expected.safetensors",
                "gpt2-small-vera/adapter/adapter_model.safetensors"}) {
            Path src = TestData.hf(rel);
            Path out = dir.resolve("copy.safetensors");
            try (SafetensorsFile f = Safetensors.read(src)) {
                Safetensors.Writer w = Safetensors.writer();
                for (String name : f.names()) {
                    if (f.info(name).dtype() == DType.I64) w.putLongs(name, f.longs(name), f.info(name).shape());
                    else w.put(name, f.tensor(name));
                }
                f.metadata().forEach(w::metadata);
                w.write(out);
            }
            assertThat(Files.readAllBytes(out)).as(rel).isEqualTo(Files.readAllBytes(src));
        }
    }

    // ------------------------------------------------------------ other dtypes

    @Test
    void decodesF16Bf16F64AndI32() throws IOException {
        short[] f16 = {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x7C00, (short) 0x8000, 0x3555, 0x0400};
        float[] f16Expect = {1f, -2f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY, -0f, 0.333251953125f, 0x1p-14f};
        short[] bf16 = {0x3F80, (short) 0xC040, 0x4049, 0x0001, 0x7F80, (short) 0xFF80, 0x7FC0, 0x3DCD};
        float[] bf16Expect = {1f, -3f, 3.140625f, Float.intBitsToFloat(0x00010000), Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x3DCD0000)};
        ByteBuffer data = ByteBuffer.allocate(16 + 16 + 16 + 12).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : f16) data.putShort(s);
        for (short s : bf16) data.putShort(s);
        data.putDouble(0.1).putDouble(-1e300);
        data.putInt(-5).putInt(Integer.MAX_VALUE).putInt(0);
        Path f = craft("dtypes", "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[16,32]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[32,48]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[48,60]}}", data.array());
        try (SafetensorsFile r = Safetensors.read(f)) {
            Tensor h = r.tensor("h");
            assertThat(h.shape()).containsExactly(2, 4);
            float[] hv = h.toArray();
            for (int i = 0; i < 8; i++) assertThat(Float.floatToIntBits(hv[i])).as("F16 %04x", f16[i]).isEqualTo(Float.floatToIntBits(f16Expect[i]));
            float[] bv = r.tensor("b").toArray();
            for (int i = 0; i < 8; i++) assertThat(Float.floatToIntBits(bv[i])).as("BF16 %04x", bf16[i]).isEqualTo(Float.floatToIntBits(bf16Expect[i]));
            assertThat(r.tensor("d").toArray()).containsExactly(0.1f, Float.NEGATIVE_INFINITY);
            assertThat(r.intTensor("i").storage()).containsExactly(-5, Integer.MAX_VALUE, 0);
            assertThat(r.longs("i")).containsExactly(-5, Integer.MAX_VALUE, 0);
            assertThat(r.rawBytes("i").remaining()).isEqualTo(12);
        }
        assertThat(Safetensors.readAll(f).keySet()).containsExactly("h", "b", "d");
    }

    // ------------------------------------------------------------ malformed files

    @Test
    void rejectsFilesShorterThanTheLengthField() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[] {1, 0, 0, 0, 0});
        expectError(f, "5 bytes");
    }

    @Test
    void rejectsHeaderLengthsBeyondTheFileOrTheCap() throws IOException {
        expectError(withLength("past", 1000, "{}"), "runs past the end of the file");
        expectError(withLength("cap", 200_000_000L, "{}"), "exceeds the limit");
        expectError(withLength("neg", -1L, "{}"), "18446744073709551615");
    }

    @Test
    void rejectsMalformedHeaders() throws IOException {
        expectError(craft("json", "{\"a\":{\"dtype\":\"F32\",}}", new byte[0]), "malformed header", "expected a string key");
        expectError(craft("start", " {}", new byte[0]), "does not start with '{'");
        expectError(craft("array", "[]", new byte[0]), "does not start with '{'");
        expectError(craft("empty", "", new byte[0]), "does not start with '{'");
        Path utf = dir.resolve("utf.safetensors");
        byte[] h = {'{', '"', (byte) 0xFF, '"', ':', '1', '}', ' '};
        Files.write(utf, concat(le(h.length), h));
        expectError(utf, "UTF-8");
        expectError(craft("dup", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "duplicate key \"w\"");
        expectError(craft("entry", "{\"w\":[1]}", new byte[0]), "'w'", "not an object");
        expectError(craft("missing", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "'w'", "data_offsets");
        expectError(craft("extra", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4]), "'w'", "\"x\"");
        expectError(craft("meta", "{\"__metadata__\":{\"k\":1}}", new byte[0]), "__metadata__", "'k'");
        expectError(craft("metatype", "{\"__metadata__\":[]}", new byte[0]), "__metadata__");
        expectError(craft("negshape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "'w'", "shape");
        expectError(craft("fshape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", new byte[4]), "'w'", "shape");
        expectError(craft("offs3", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", new byte[4]), "'w'", "data_offsets");
        expectError(craft("offsrev", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", new byte[4]), "'w'", "data_offsets");
        // null metadata is allowed, as in the reference
        try (SafetensorsFile r = Safetensors.read(craft("nullmeta", "{\"__metadata__\":null}", new byte[0]))) {
            assertThat(r.metadata()).isEmpty();
        }
    }

    @Test
    void rejectsUnknownDtypesAndSizeMismatches() throws IOException {
        expectError(craft("dtype", "{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "'w'", "unknown dtype \"F12\"");
        expectError(craft("size", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[12]),
                "'w'", "needs 16 bytes", "span 12");
    }

    @Test
    void rejectsOffsetsThatDoNotTileTheDataArea() throws IOException {
        expectError(craft("outside", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[8]),
                "'w'", "outside the data area");
        expectError(craft("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "'b'", "overlap", "'a'");
        expectError(craft("gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]), "'b'", "gap of 4 bytes", "'a'");
        expectError(craft("lead", "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "'b'", "gap");
        expectError(craft("trailing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[6]),
                "cover 4 bytes", "6 bytes", "'a'");
        // tensors listed out of offset order are fine, as in the reference
        try (SafetensorsFile r = Safetensors.read(craft("unordered", "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1f, 2f)))) {
            assertThat(r.names()).containsExactly("a", "b");
            assertThat(r.tensor("b").item()).isEqualTo(2f);
        }
    }

    @Test
    void closedFilesCannotBeRead() throws IOException {
        Path f = dir.resolve("c.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.vector(1)));
        SafetensorsFile r = Safetensors.read(f);
        r.close();
        assertThatThrownBy(() -> r.tensor("a")).isInstanceOf(IllegalStateException.class);
    }

    // ------------------------------------------------------------ atomic writes

    @Test
    void overwritesAtomicallyAndLeavesNoTempFile() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.vector(1)));
        Safetensors.write(f, Map.of("b", Tensor.vector(2, 3)), Map.of("ids", IntTensor.of(new int[] {4}, 1)), Map.of("k", "v"));
        assertThat(listDir()).containsExactly("m.safetensors");
        try (SafetensorsFile r = Safetensors.read(f)) {
            assertThat(r.names()).containsExactly("ids", "b");
        }
        if (Files.getFileStore(f).supportsFileAttributeView("posix"))
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).startsWith("rw-r");
    }

    @Test
    void aFailedWriteLeavesTheOldFileIntact() throws IOException {
        Path f = dir.resolve("keep.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.vector(1, 2, 3)));
        byte[] before = Files.readAllBytes(f);

        assertThatThrownBy(() -> Safetensors.atomicWrite(f, ch -> {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            throw new IOException("injected failure");
        })).isInstanceOf(IOException.class).hasMessage("injected failure");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        assertThat(listDir()).containsExactly("keep.safetensors");

        assertThatThrownBy(() -> Safetensors.atomicWrite(f, ch -> {
            throw new UncheckedIOException(new IOException("disk on fire"));
        })).isInstanceOf(UncheckedIOException.class);
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        assertThat(listDir()).containsExactly("keep.safetensors");

        // A target in a missing directory fails before anything is written.
        assertThatThrownBy(() -> Safetensors.write(dir.resolve("no/such/dir/x.safetensors"), Map.of("a", Tensor.vector(1))))
                .isInstanceOf(IOException.class);
        assertThat(listDir()).containsExactly("keep.safetensors");
    }

    // ------------------------------------------------------------ helpers

    private List<String> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private void expectError(Path f, String... fragments) {
        var a = assertThatThrownBy(() -> {
            try (SafetensorsFile r = Safetensors.read(f)) {
                r.names();
            }
        }).isInstanceOf(SafetensorsException.class).hasMessageContaining(f.toString());
        for (String frag : fragments) a.hasMessageContaining(frag);
    }

    /** A file with the given header JSON (length field = its exact byte length) and data area. */
    private Path craft(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve(name + ".safetensors");
        Files.write(f, concat(concat(le(h.length), h), data));
        return f;
    }

    private Path withLength(String name, long n, String header) throws IOException {
        Path f = dir.resolve(name + ".safetensors");
        Files.write(f, concat(le(n), header.getBytes(StandardCharsets.UTF_8)));
        return f;
    }

    private static byte[] le(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static void assertBits(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        float[] a = actual.toArray(), e = expected.toArray();
        for (int i = 0; i < a.length; i++) assertThat(Float.floatToRawIntBits(a[i])).isEqualTo(Float.floatToRawIntBits(e[i]));
    }

}
