package dev.vectorgrad.encoder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small reader of ONNX's protobuf wire format: just enough of {@code ModelProto → GraphProto} to get the
 * initializers ({@code TensorProto}: name, dims, data_type, raw_data / float_data / int64_data; float32 and
 * int64 only) and the nodes ({@code NodeProto}: op_type, input, output). Every other field is skipped by its
 * wire type. Field numbers are onnx.proto3's:
 * <pre>
 * ModelProto   7 graph
 * GraphProto   1 node*, 5 initializer*
 * NodeProto    1 input*, 2 output*, 3 name, 4 op_type
 * TensorProto  1 dims* (packed or not), 2 data_type (1 FLOAT, 7 INT64), 4 float_data, 7 int64_data, 8 name,
 *              9 raw_data (little-endian), 14 data_location (1 EXTERNAL: refused)
 * </pre>
 * Bytes are not copied: a tensor keeps the offset of its data in the file's array until {@link Tensor#floats()}
 * or {@link Tensor#longs()} decodes it. Malformed input raises {@link IllegalArgumentException} naming the file,
 * the byte offset and what is wrong.
 */
final class OnnxReader {
    static final int FLOAT = 1, INT64 = 7;

    /** One node of the graph. */
    record Node(String name, String opType, List<String> inputs, List<String> outputs) {}

    /** An initializer: its data lies at [offset, offset + length) of {@code bytes} (raw little-endian) or in a packed field. */
    record Tensor(String name, int dataType, long[] dims, byte[] bytes, int offset, int length, boolean packedVarints) {
        long numel() {
            long n = 1;
            for (long d : dims) n *= d;
            return n;
        }

        int[] shape() {
            int[] s = new int[dims.length];
            for (int i = 0; i < s.length; i++) s[i] = (int) dims[i];
            return s;
        }

        float[] floats() {
            if (dataType != FLOAT) throw new IllegalArgumentException("ONNX initializer " + name + " is not float32 (data_type " + dataType + ")");
            float[] out = new float[(int) numel()];
            ByteBuffer.wrap(bytes, offset, length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        long[] longs() {
            if (dataType != INT64) throw new IllegalArgumentException("ONNX initializer " + name + " is not int64 (data_type " + dataType + ")");
            long[] out = new long[(int) numel()];
            if (!packedVarints) {
                ByteBuffer.wrap(bytes, offset, length).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
            } else {
                Wire w = new Wire(bytes, offset, offset + length, name);
                for (int i = 0; i < out.length; i++) out[i] = w.varint();
            }
            return out;
        }
    }

    /** The parts of a model this project reads. */
    record Model(Map<String, Tensor> initializers, List<Node> nodes) {}

    private OnnxReader() {}

    /** Parses a whole {@code .onnx} file held in {@code bytes}; {@code file} names it in errors. */
    static Model read(byte[] bytes, String file) {
        try {
            Wire m = new Wire(bytes, 0, bytes.length, file);
            Model graph = null;
            while (m.more()) {
                long tag = m.varint();
                if (tag >>> 3 == 7 && (tag & 7) == 2) {
                    int[] r = m.lengthDelimited();
                    graph = graph(new Wire(bytes, r[0], r[1], file));
                } else {
                    m.skip(tag);
                }
            }
            if (graph == null) throw new IllegalArgumentException(file + ": not an ONNX model (no graph field)");
            return graph;
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new IllegalArgumentException(file + ": malformed ONNX protobuf (" + e.getMessage() + ")", e);
        }
    }

    private static Model graph(Wire g) {
        Map<String, Tensor> inits = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        while (g.more()) {
            long tag = g.varint();
            int field = (int) (tag >>> 3);
            if ((field == 1 || field == 5) && (tag & 7) == 2) {
                int[] r = g.lengthDelimited();
                Wire sub = new Wire(g.bytes, r[0], r[1], g.file);
                if (field == 1) nodes.add(node(sub));
                else {
                    Tensor t = tensor(sub, r[0]);
                    if (inits.put(t.name(), t) != null)
                        throw new IllegalArgumentException(g.file + ": initializer " + t.name() + " appears twice");
                }
            } else {
                g.skip(tag);
            }
        }
        return new Model(inits, nodes);
    }

    private static Node node(Wire n) {
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        String name = "", op = null;
        while (n.more()) {
            long tag = n.varint();
            int field = (int) (tag >>> 3);
            if (field >= 1 && field <= 4 && (tag & 7) == 2) {
                String s = n.string();
                switch (field) {
                    case 1 -> in.add(s);
                    case 2 -> out.add(s);
                    case 3 -> name = s;
                    default -> op = s;
                }
            } else {
                n.skip(tag);
            }
        }
        if (op == null) throw new IllegalArgumentException(n.file + ": node " + name + " has no op_type");
        return new Node(name, op, List.copyOf(in), List.copyOf(out));
    }

    private static Tensor tensor(Wire t, int start) {
        List<Long> dims = new ArrayList<>();
        String name = null;
        int dataType = 0;
        int[] raw = null, floatData = null, int64Data = null;
        while (t.more()) {
            long tag = t.varint();
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            if (field == 1 && wire == 0) dims.add(t.varint());
            else if (field == 1 && wire == 2) {
                int[] r = t.lengthDelimited();
                Wire p = new Wire(t.bytes, r[0], r[1], t.file);
                while (p.more()) dims.add(p.varint());
            } else if (field == 2 && wire == 0) dataType = (int) t.varint();
            else if (field == 4 && wire == 2) floatData = t.lengthDelimited();
            else if (field == 7 && wire == 2) int64Data = t.lengthDelimited();
            else if (field == 8 && wire == 2) name = t.string();
            else if (field == 9 && wire == 2) raw = t.lengthDelimited();
            else if (field == 14 && wire == 0 && t.varint() == 1)
                throw new IllegalArgumentException(t.file + ": initializer " + name + " keeps its data in an external file, which is not supported");
            else if (!(field == 14 && wire == 0)) t.skip(tag);
        }
        String what = t.file + ": initializer " + (name == null ? "at byte " + start : name);
        if (name == null) throw new IllegalArgumentException(what + " has no name");
        if (dataType != FLOAT && dataType != INT64)
            throw new IllegalArgumentException(what + " has data_type " + dataType + "; only 1 (float32) and 7 (int64) are supported");
        long[] d = new long[dims.size()];
        long numel = 1;
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
            if (d[i] < 0 || d[i] > Integer.MAX_VALUE) throw new IllegalArgumentException(what + " has a bad dimension " + d[i]);
            numel = Math.multiplyExact(numel, d[i]);
        }
        int elem = dataType == FLOAT ? 4 : 8;
        if (numel > Integer.MAX_VALUE / elem) throw new IllegalArgumentException(what + " is too large: " + Arrays.toString(d));
        int[] r = raw != null ? raw : dataType == FLOAT ? floatData : int64Data;
        if (r == null) {
            if (numel != 0) throw new IllegalArgumentException(what + " has no data (raw_data missing)");
            r = new int[] {t.end, t.end};
        }
        boolean varints = raw == null && dataType == INT64 && int64Data != null;
        if (varints) {
            Wire p = new Wire(t.bytes, r[0], r[1], t.file);
            long count = 0;
            while (p.more()) {
                p.varint();
                count++;
            }
            if (count != numel) throw new IllegalArgumentException(what + " holds " + count + " values for shape " + Arrays.toString(d));
        } else if ((long) (r[1] - r[0]) != numel * elem) {
            throw new IllegalArgumentException(what + " holds " + (r[1] - r[0]) + " data bytes for shape " + Arrays.toString(d)
                    + " (" + numel * elem + " expected)");
        }
        return new Tensor(name, dataType, d, t.bytes, r[0], r[1] - r[0], varints);
    }

    /** A cursor over [pos, end) of a protobuf message. */
    private static final class Wire {
        final byte[] bytes;
        final int end;
        final String file;
        int pos;

        Wire(byte[] bytes, int pos, int end, String file) {
            this.bytes = bytes;
            this.pos = pos;
            this.end = end;
            this.file = file;
        }

        boolean more() {
            return pos < end;
        }

        private IllegalArgumentException bad(String what) {
            return new IllegalArgumentException(file + ": malformed ONNX protobuf at byte " + pos + ": " + what);
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw bad("varint runs past the end of its message");
                byte b = bytes[pos++];
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) return v;
            }
            throw bad("varint longer than 10 bytes");
        }

        /** A length-delimited field's [start, end); the cursor moves past it. */
        int[] lengthDelimited() {
            long n = varint();
            if (n < 0 || n > end - pos) throw bad("length " + n + " runs past the end of its message (" + (end - pos) + " bytes left)");
            int s = pos;
            pos += (int) n;
            return new int[] {s, pos};
        }

        String string() {
            int[] r = lengthDelimited();
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes, r[0], r[1] - r[0])).toString();
            } catch (CharacterCodingException e) {
                pos = r[0];
                throw bad("string is not valid UTF-8");
            }
        }

        void skip(long tag) {
            if (tag >>> 3 == 0) throw bad("field number 0 (not a protobuf message)");
            switch ((int) (tag & 7)) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> lengthDelimited();
                case 5 -> advance(4);
                default -> throw bad("unsupported wire type " + (tag & 7) + " (field " + (tag >>> 3) + ")");
            }
        }

        private void advance(int n) {
            if (n > end - pos) throw bad("fixed-width field runs past the end of its message");
            pos += n;
        }
    }
}
