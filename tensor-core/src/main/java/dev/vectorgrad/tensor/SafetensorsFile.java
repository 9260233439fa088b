package dev.vectorgrad.tensor;

import dev.vectorgrad.tensor.Safetensors.DType;
import dev.vectorgrad.tensor.Safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open, validated safetensors file (see {@link Safetensors}). The data area is memory-mapped (the whole file
 * when it is under 2 GB, otherwise each tensor's range when it is loaded); tensors are decoded into new arrays on
 * each call. Loading methods may be called from several threads. Close it to release the file.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final long dataStart, dataLength;
    private final Map<String, TensorInfo> infos; // in data order
    private final Map<String, String> metadata;
    private final ByteBuffer whole; // null when the file is too large to map at once
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, long dataLength, Map<String, TensorInfo> infos,
                            Map<String, String> metadata, ByteBuffer whole) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
        this.infos = infos;
        this.metadata = metadata;
        this.whole = whole;
    }

    static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            SafetensorsFile f = parse(path, ch);
            ch = null;
            return f;
        } finally {
            if (ch != null) ch.close();
        }
    }

    private static SafetensorsException error(Path path, String msg) {
        return new SafetensorsException(path + ": " + msg);
    }

    private static SafetensorsException error(Path path, String tensor, String msg) {
        return new SafetensorsException(path + ": tensor '" + tensor + "': " + msg);
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw error(path, "file is " + size + " bytes, too short for the 8-byte header length");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long n = lenBuf.getLong(0);
        if (n < 0 || n > Safetensors.MAX_HEADER_BYTES)
            throw error(path, "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + Safetensors.MAX_HEADER_BYTES + " bytes");
        if (n > size - 8)
            throw error(path, "header length " + n + " runs past the end of the file (" + size + " bytes)");
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(ch, hb, 8);
        byte[] headerBytes = hb.array();
        if (n == 0 || headerBytes[0] != '{') throw error(path, "header does not start with '{'");
        Object parsed;
        try {
            parsed = Json.parse(Json.decodeUtf8(headerBytes));
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(path + ": malformed header: " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?>)) throw error(path, "header is not a JSON object");
        Map<String, Object> header = Json.asMap(parsed, "header");

        long dataStart = 8 + n, dataLength = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> list = new ArrayList<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (e.getValue() == null) continue;
                if (!(e.getValue() instanceof Map<?, ?> md)) throw error(path, "__metadata__ is not an object");
                for (Map.Entry<?, ?> m : md.entrySet()) {
                    if (!(m.getValue() instanceof String v))
                        throw error(path, "__metadata__ value for '" + m.getKey() + "' is " + Json.typeName(m.getValue()) + ", not a string");
                    metadata.put((String) m.getKey(), v);
                }
                continue;
            }
            list.add(entry(path, name, e.getValue(), dataLength));
        }

        // The tensors must tile the data area exactly: sorted by offset, each starts where the previous ended.
        List<TensorInfo> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expect = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < expect)
                throw error(path, t.name(), "data_offsets [" + t.begin() + ", " + t.end() + ") overlap tensor '" + prev.name()
                        + "' at [" + prev.begin() + ", " + prev.end() + ")");
            if (t.begin() > expect)
                throw error(path, t.name(), "data_offsets [" + t.begin() + ", " + t.end() + ") leave a gap of " + (t.begin() - expect)
                        + " bytes after " + (prev == null ? "the start of the data area" : "tensor '" + prev.name() + "' (ends at " + expect + ")"));
            expect = t.end();
            prev = t;
        }
        if (expect != dataLength)
            throw error(path, "the tensors cover " + expect + " bytes but the data area has " + dataLength + " bytes"
                    + (prev == null ? "" : " (" + (dataLength - expect) + " bytes after tensor '" + prev.name() + "')"));

        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (TensorInfo t : sorted) infos.put(t.name(), t);
        ByteBuffer whole = size <= Integer.MAX_VALUE ? ch.map(FileChannel.MapMode.READ_ONLY, 0, size) : null;
        return new SafetensorsFile(path, ch, dataStart, dataLength, Collections.unmodifiableMap(infos),
                Collections.unmodifiableMap(metadata), whole);
    }

    private static TensorInfo entry(Path path, String name, Object value, long dataLength) {
        if (!(value instanceof Map<?, ?>)) throw error(path, name, "header entry is " + Json.typeName(value) + ", not an object");
        Map<String, Object> m = Json.asMap(value, name);
        for (String k : m.keySet())
            if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets"))
                throw error(path, name, "unexpected key \"" + k + "\" in the header entry");
        for (String k : new String[] {"dtype", "shape", "data_offsets"})
            if (!m.containsKey(k)) throw error(path, name, "header entry has no \"" + k + "\"");

        if (!(m.get("dtype") instanceof String dt)) throw error(path, name, "dtype is " + Json.typeName(m.get("dtype")) + ", not a string");
        DType dtype;
        try {
            dtype = DType.valueOf(dt);
        } catch (IllegalArgumentException e) {
            throw error(path, name, "unknown dtype \"" + dt + "\" (known: " + Arrays.toString(DType.values()) + ")");
        }

        if (!(m.get("shape") instanceof List<?> sl)) throw error(path, name, "shape is " + Json.typeName(m.get("shape")) + ", not an array");
        int[] shape = new int[sl.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            Object o = sl.get(i);
            if (!(o instanceof Long l) || l < 0 || l > Integer.MAX_VALUE)
                throw error(path, name, "shape " + sl + " has an entry that is not an integer in [0, 2^31)");
            shape[i] = (int) (long) l;
            try {
                numel = Math.multiplyExact(numel, l);
            } catch (ArithmeticException ex) {
                throw error(path, name, "shape " + sl + " has too many elements");
            }
        }

        if (!(m.get("data_offsets") instanceof List<?> ol) || ol.size() != 2 || !(ol.get(0) instanceof Long b) || !(ol.get(1) instanceof Long e)
                || b < 0 || e < b)
            throw error(path, name, "data_offsets " + Json.write(m.get("data_offsets")) + " is not a pair [begin, end] of integers with 0 <= begin <= end");
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, dtype.size());
        } catch (ArithmeticException ex) {
            throw error(path, name, "shape " + Arrays.toString(shape) + " is too large");
        }
        if (bytes != e - b)
            throw error(path, name, "shape " + Arrays.toString(shape) + " of " + dtype + " needs " + bytes + " bytes but data_offsets ["
                    + b + ", " + e + ") span " + (e - b));
        if (e > dataLength)
            throw error(path, name, "data_offsets [" + b + ", " + e + ") lie outside the data area of " + dataLength + " bytes");
        return new TensorInfo(name, dtype, shape, b, e);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) throw new IOException("unexpected end of file");
            pos += r;
        }
    }

    // ================================================================ contents

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** The tensor names, in the order of their data in the file. */
    public List<String> names() {
        return List.copyOf(infos.keySet());
    }

    /** Every header entry, by name, in data order. */
    public Map<String, TensorInfo> infos() {
        return infos;
    }

    /** True if the file holds a tensor of this name. */
    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    /** The header entry of {@code name}, or an error listing what the file holds. */
    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) {
            List<String> some = names().subList(0, Math.min(8, infos.size()));
            throw error(path, name, "no such tensor; the file has " + infos.size() + " tensors" + (some.isEmpty() ? "" : ", e.g. " + some));
        }
        return t;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Size of the data area in bytes. */
    public long dataLength() {
        return dataLength;
    }

    /** The tensor's raw little-endian bytes (a read-only view of the mapping). */
    public ByteBuffer rawBytes(String name) throws IOException {
        return bytes(info(name));
    }

    private ByteBuffer bytes(TensorInfo t) throws IOException {
        if (closed) throw new IllegalStateException(path + " is closed");
        long len = t.byteLength();
        if (len > Integer.MAX_VALUE) throw error(path, t.name(), len + " bytes is more than one tensor may have here (2 GB)");
        ByteBuffer b;
        if (whole != null) {
            b = whole.slice((int) (dataStart + t.begin()), (int) len);
        } else {
            b = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), len);
        }
        return b.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The tensor as float32: F32 as stored, F16 and BF16 widened exactly, F64 rounded to float. Other dtypes are an
     * error (use {@link #intTensor} or {@link #longs}).
     */
    public Tensor tensor(String name) throws IOException {
        TensorInfo t = info(name);
        int n = (int) t.numel();
        float[] out = new float[n];
        ByteBuffer b = bytes(t);
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                ShortBuffer s = b.asShortBuffer();
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.get(i));
            }
            case BF16 -> {
                ShortBuffer s = b.asShortBuffer();
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(s.get(i) << 16);
            }
            case F64 -> {
                DoubleBuffer d = b.asDoubleBuffer();
                for (int i = 0; i < n; i++) out[i] = (float) d.get(i);
            }
            default -> throw error(path, name, "dtype " + t.dtype() + " is not a floating-point type; use intTensor or longs");
        }
        return Tensor.wrap(out, t.shape());
    }

    /** The tensor as 64-bit integers in row-major order, from I64 or I32. */
    public long[] longs(String name) throws IOException {
        TensorInfo t = info(name);
        int n = (int) t.numel();
        long[] out = new long[n];
        ByteBuffer b = bytes(t);
        switch (t.dtype()) {
            case I64 -> b.asLongBuffer().get(out);
            case I32 -> {
                var ib = b.asIntBuffer();
                for (int i = 0; i < n; i++) out[i] = ib.get(i);
            }
            default -> throw error(path, name, "dtype " + t.dtype() + " is not I64 or I32");
        }
        return out;
    }

    /** The tensor as an {@link IntTensor}, from I32 or I64; an I64 value outside the int range is an error. */
    public IntTensor intTensor(String name) throws IOException {
        TensorInfo t = info(name);
        int n = (int) t.numel();
        int[] out = new int[n];
        ByteBuffer b = bytes(t);
        switch (t.dtype()) {
            case I32 -> b.asIntBuffer().get(out);
            case I64 -> {
                LongBuffer lb = b.asLongBuffer();
                for (int i = 0; i < n; i++) {
                    long v = lb.get(i);
                    if (v != (int) v) throw error(path, name, "I64 value " + v + " at flat index " + i + " does not fit in an int");
                    out[i] = (int) v;
                }
            }
            default -> throw error(path, name, "dtype " + t.dtype() + " is not I64 or I32");
        }
        return IntTensor.wrap(out, t.shape());
    }

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + infos.size() + " tensors]";
    }
}
