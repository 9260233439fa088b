package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ONNX protobuf reader and the BERT mapping on small graphs written here field by field (onnx.proto's field
 * numbers), so that every expected value is known independently of the reader. The mutation fuzz is
 * {@link OnnxReaderFuzzTest}.
 */
class OnnxReaderTest {
    // ------------------------------------------------------------------ a tiny protobuf writer

    static final class Pb {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pb varint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
            return this;
        }

        Pb tag(int field, int wire) {
            return varint((long) field << 3 | wire);
        }

        Pb bytes(int field, byte[] b) {
            tag(field, 2).varint(b.length);
            out.writeBytes(b);
            return this;
        }

        Pb string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Pb msg(int field, Pb m) {
            return bytes(field, m.out.toByteArray());
        }

        byte[] done() {
            return out.toByteArray();
        }
    }

    /** A float32 TensorProto with unpacked dims (the position ids below use packed ones). */
    static Pb floatTensor(String name, float[] values, long... dims) {
        Pb t = new Pb();
        for (long d : dims) t.tag(1, 0).varint(d);
        t.tag(2, 0).varint(OnnxReader.FLOAT).string(8, name);
        ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) bb.putFloat(v);
        return t.bytes(9, bb.array());
    }

    static Pb node(String op, List<String> in, String out) {
        Pb n = new Pb();
        for (String s : in) n.string(1, s);
        return n.string(2, out).string(3, op + "_" + out).string(4, op).string(7, "");
    }

    static float[] seq(int n, float start) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = start + i;
        return f;
    }

    /** A 1-layer BERT, hidden 4, FFN 8, vocab 10, 6 positions, 2 token types, exported as HF's ONNX does it. */
    static byte[] tinyBert(String dropLinear) {
        int c = 4, f = 8;
        Pb g = new Pb().string(2, "tiny");
        List<Pb> inits = new ArrayList<>();
        inits.add(floatTensor("embeddings.word_embeddings.weight", seq(10 * c, 0), 10, c));
        inits.add(floatTensor("embeddings.position_embeddings.weight", seq(6 * c, 100), 6, c));
        inits.add(floatTensor("embeddings.token_type_embeddings.weight", seq(2 * c, 200), 2, c));
        inits.add(floatTensor("embeddings.LayerNorm.weight", seq(c, 1), c));
        inits.add(floatTensor("embeddings.LayerNorm.bias", seq(c, 2), c));
        // The position ids, int64 as in the real export (read but not used).
        Pb posIds = new Pb(); // packed dims, as protobuf 3 writes repeated int64
        posIds.bytes(1, new Pb().varint(1).varint(6).done()).tag(2, 0).varint(OnnxReader.INT64).string(8, "embeddings.position_ids");
        ByteBuffer pb = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) pb.putLong(i);
        posIds.bytes(9, pb.array());
        inits.add(posIds);
        String x = "hidden";
        int anon = 300;
        for (String lin : OnnxBert.LINEARS) {
            int in = lin.equals("output.dense") ? f : c, out = lin.equals("intermediate.dense") ? f : c;
            String p = "encoder.layer.0." + lin, w = "onnx::MatMul_" + anon++;
            inits.add(floatTensor(p + ".bias", seq(out, 1000), out));
            inits.add(floatTensor(w, seq(in * out, anon * 10), in, out));
            if (!lin.equals(dropLinear)) {
                g.msg(1, node("MatMul", List.of(x, w), w + "_out"));
                g.msg(1, node("Add", List.of(p + ".bias", w + "_out"), p + "_out"));
            }
        }
        for (String ln : OnnxBert.LAYER_NORMS) {
            inits.add(floatTensor("encoder.layer.0." + ln + ".weight", seq(c, 3), c));
            inits.add(floatTensor("encoder.layer.0." + ln + ".bias", seq(c, 4), c));
        }
        for (Pb t : inits) g.msg(5, t);
        return new Pb().tag(1, 0).varint(7).string(2, "pytorch").msg(7, g).done();
    }

    @Test
    void readsTensorsAndNodesFieldByField() {
        OnnxReader.Model m = OnnxReader.read(tinyBert(null), "tiny.onnx");
        assertThat(m.initializers()).hasSize(5 + 1 + 12 + 4);
        OnnxReader.Tensor pos = m.initializers().get("embeddings.position_embeddings.weight");
        assertThat(pos.dims()).containsExactly(6, 4);
        assertThat(pos.floats()).containsExactly(seq(24, 100));
        assertThat(m.initializers().get("embeddings.position_ids").longs()).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(m.nodes()).hasSize(12);
        assertThat(m.nodes().get(0).opType()).isEqualTo("MatMul");
        assertThat(m.nodes().get(1).inputs()).containsExactly("encoder.layer.0.attention.self.query.bias", "onnx::MatMul_300_out");
    }

    @Test
    void mapsAnonymousMatMulWeightsToLayersTransposed() {
        OnnxBert.Loaded l = OnnxBert.stateDict(OnnxReader.read(tinyBert(null), "tiny.onnx"), 2, 1e-12f, "tiny.onnx");
        assertThat(l.config()).isEqualTo(new Bert.Config(10, 4, 1, 2, 8, 6, 2, 1e-12f));
        Map<String, Tensor> s = l.state();
        // intermediate.dense is the 5th linear: onnx::MatMul_304, [in 4, out 8] holding 3050, 3051, ... row-major.
        Tensor w = s.get("encoder.layer.0.intermediate.dense.weight");
        assertThat(w.shape()).containsExactly(8, 4);
        for (int o = 0; o < 8; o++)
            for (int i = 0; i < 4; i++) assertThat(w.get(o, i)).isEqualTo(3050f + i * 8 + o);
        assertThat(s.get("encoder.layer.0.output.dense.weight").shape()).containsExactly(4, 8);
        Bert bert = new Bert(l.config());
        bert.loadStateDict(s, true); // every parameter name is covered, nothing extra
    }

    @Test
    void aGraphThatIsNotBertSaysWhatIsMissing() {
        assertThatThrownBy(() -> OnnxBert.stateDict(OnnxReader.read(tinyBert("attention.self.value"), "tiny.onnx"), 2, 1e-12f, "tiny.onnx"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tiny.onnx: not the expected BERT graph")
                .hasMessageContaining("encoder.layer.0.attention.self.value.bias");
        byte[] noGraph = new Pb().tag(1, 0).varint(7).done();
        assertThatThrownBy(() -> OnnxReader.read(noGraph, "x.onnx")).hasMessageContaining("x.onnx: not an ONNX model (no graph field)");
        byte[] emptyGraph = new Pb().msg(7, new Pb().string(2, "g")).done();
        assertThatThrownBy(() -> OnnxBert.stateDict(OnnxReader.read(emptyGraph, "e.onnx"), 2, 1e-12f, "e.onnx"))
                .hasMessageContaining("e.onnx: not the expected BERT graph: no initializer encoder.layer.0.attention.self.query.bias");
    }

    @Test
    void badBytesNameTheFileAndTheProblem() {
        byte[] ok = tinyBert(null);
        assertThatThrownBy(() -> OnnxReader.read(Arrays.copyOf(ok, ok.length - 3), "cut.onnx"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cut.onnx: malformed ONNX protobuf at byte");
        byte[] groups = new Pb().tag(7, 3).done();
        assertThatThrownBy(() -> OnnxReader.read(groups, "g.onnx")).hasMessageContaining("unsupported wire type 3");
        byte[] shortData = new Pb().msg(7, new Pb().msg(5, floatTensor("w", new float[3], 2, 2))).done();
        assertThatThrownBy(() -> OnnxReader.read(shortData, "s.onnx"))
                .hasMessageContaining("s.onnx: initializer w holds 12 data bytes for shape [2, 2] (16 expected)");
        byte[] doubles = new Pb().msg(7, new Pb().msg(5, new Pb().tag(1, 0).varint(1).tag(2, 0).varint(11).string(8, "d")
                .bytes(9, new byte[8]))).done();
        assertThatThrownBy(() -> OnnxReader.read(doubles, "d.onnx")).hasMessageContaining("initializer d has data_type 11");
    }

    @Test
    void theFuzzBasesLoad() throws Exception {
        // OnnxReaderFuzzTest mutates these two; unmutated, both must get through the reader and the first through the
        // mapping into a Bert, or the fuzz would only ever test the rejections
        OnnxReader.Model m = OnnxReader.read(OnnxReaderFuzzTest.BASES.get(1), "ids.onnx");
        assertThat(m.initializers().get("ids").longs()).containsExactly(0, 1, 300, -1, Long.MAX_VALUE, 1L << 40);
        java.nio.file.Path f = java.nio.file.Files.createTempFile("base", ".onnx");
        try {
            java.nio.file.Files.write(f, OnnxReaderFuzzTest.BASES.get(0));
            OnnxReaderFuzzTest.loadEverything(f);
        } finally {
            java.nio.file.Files.delete(f);
        }
    }
}
