package dev.vectorgrad.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reading and writing the <a href="https://github.com/huggingface/safetensors">safetensors</a> format: an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON {@code {name: {"dtype", "shape", "data_offsets": [begin,
 * end)}, "__metadata__": {str: str}}}, then the data area (little-endian, row-major; offsets are relative to it).
 *
 * <p>{@link #read(Path)} validates the header as strictly as the reference implementation: header length at most
 * {@value #MAX_HEADER_BYTES} bytes and inside the file, the header is a JSON object starting with '{', every dtype
 * known, {@code shape × dtype size} equal to each tensor's byte length, and the tensors' byte ranges tiling the
 * data area exactly (no gap, no overlap, nothing left over). Errors are {@link SafetensorsException}s naming the
 * file and, where there is one, the tensor.
 *
 * <p>{@link #write} and {@link Writer} write F32 (float tensors) and I64 (int tensors) with the reference
 * writer's layout: {@code __metadata__} first, tensors ordered by dtype size (largest first, so every tensor is
 * aligned) then by name, header padded with spaces to a multiple of 8. Writing is atomic: the bytes go to a
 * temporary file in the target's directory, which is fsynced and then renamed over the target, so a crash or an
 * error mid-save leaves the previous file as it was.
 */
public final class Safetensors {
    /** The largest header the reference reader accepts (100 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private Safetensors() {}

    /** The element types of the format, with their sizes in bytes. */
    public enum DType {
        BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
        F64(8), I64(8), U64(8);

        private final int size;

        DType(int size) {
            this.size = size;
        }

        /** Bytes per element. */
        public int size() {
            return size;
        }

        /** True for the types {@link SafetensorsFile#tensor} converts to float32 (F32, F16, BF16, F64). */
        public boolean isFloat() {
            return this == F32 || this == F16 || this == BF16 || this == F64;
        }
    }

    /** One header entry: name, dtype, shape and the byte range {@code [begin, end)} within the data area. */
    public static final class TensorInfo {
        private final String name;
        private final DType dtype;
        private final int[] shape;
        private final long begin, end;

        TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }

        public String name() {
            return name;
        }

        public DType dtype() {
            return dtype;
        }

        /** The shape (a copy); empty for a scalar. */
        public int[] shape() {
            return shape.clone();
        }

        /** Number of elements (the product of the shape). */
        public long numel() {
            long n = 1;
            for (int s : shape) n *= s;
            return n;
        }

        /** Start of the tensor's bytes, relative to the data area. */
        public long begin() {
            return begin;
        }

        /** End (exclusive) of the tensor's bytes, relative to the data area. */
        public long end() {
            return end;
        }

        public long byteLength() {
            return end - begin;
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
        }
    }

    // ================================================================ reading

    /** Opens and validates a file; the tensors are memory-mapped and decoded on demand. Close it when done. */
    public static SafetensorsFile read(Path file) throws IOException {
        return SafetensorsFile.open(file);
    }

    /**
     * Every floating-point tensor (F32, F16, BF16, F64) of a file as float32, by name in file order; integer
     * tensors are left out (use {@link #read(Path)} for them).
     */
    public static Map<String, Tensor> readAll(Path file) throws IOException {
        try (SafetensorsFile f = read(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) if (f.info(name).dtype().isFloat()) out.put(name, f.tensor(name));
            return out;
        }
    }

    // ================================================================ writing

    /** Writes float tensors as F32 with no metadata (atomically). */
    public static void write(Path file, Map<String, Tensor> floats) throws IOException {
        write(file, floats, Map.of(), Map.of());
    }

    /** Writes float tensors as F32, int tensors as I64, and string metadata (any map may be empty), atomically. */
    public static void write(Path file, Map<String, Tensor> floats, Map<String, IntTensor> ints, Map<String, String> metadata)
            throws IOException {
        Writer w = writer();
        floats.forEach(w::put);
        ints.forEach(w::put);
        metadata.forEach(w::metadata);
        w.write(file);
    }

    /** A builder for a file with tensors of several dtypes. */
    public static Writer writer() {
        return new Writer();
    }

    /** Collects tensors and metadata, then {@link #write(Path)}s them atomically. Names must be unique. */
    public static final class Writer {
        private final Map<String, Entry> entries = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Writer() {}

        private Writer add(Entry e) {
            if (e.name.equals("__metadata__")) throw new IllegalArgumentException("safetensors: \"__metadata__\" cannot name a tensor");
            if (entries.putIfAbsent(e.name, e) != null)
                throw new IllegalArgumentException("safetensors: tensor '" + e.name + "' added twice");
            return this;
        }

        /** A float32 tensor, stored as F32 (views are written in row-major order). */
        public Writer put(String name, Tensor t) {
            Tensor c = t.contiguous();
            return add(new Entry(name, DType.F32, t.shape(), c.storage(), c.offset(), null, null));
        }

        /** An int tensor, stored as I64 (as PyTorch's token ids). */
        public Writer put(String name, IntTensor t) {
            return add(new Entry(name, DType.I64, t.shape(), null, 0, t.storage(), null));
        }

        /** A long array under {@code shape} (its element count must match), stored as I64. */
        public Writer putLongs(String name, long[] values, int... shape) {
            int[] s = Shapes.checked("safetensors putLongs '" + name + "'", shape);
            if (Shapes.numel(s) != values.length)
                throw new IllegalArgumentException("safetensors: tensor '" + name + "': shape " + Arrays.toString(s) + " holds "
                        + Shapes.numel(s) + " elements but the array has " + values.length);
            return add(new Entry(name, DType.I64, s, null, 0, null, values));
        }

        /** A {@code __metadata__} entry. */
        public Writer metadata(String key, String value) {
            if (key == null || value == null) throw new IllegalArgumentException("safetensors: metadata keys and values must not be null");
            metadata.put(key, value);
            return this;
        }

        /** Writes the file atomically (temporary file, fsync, rename over {@code file}). */
        public void write(Path file) throws IOException {
            List<Entry> order = new ArrayList<>(entries.values());
            order.sort(Comparator.comparingInt((Entry e) -> -e.dtype.size()).thenComparing(e -> e.name));
            Map<String, Object> header = new LinkedHashMap<>();
            if (!metadata.isEmpty()) {
                Map<String, Object> md = new java.util.TreeMap<>(metadata);
                header.put("__metadata__", md);
            }
            long offset = 0;
            for (Entry e : order) {
                long len = (long) Shapes.numel(e.shape) * e.dtype.size();
                Map<String, Object> info = new LinkedHashMap<>();
                info.put("dtype", e.dtype.name());
                info.put("shape", e.shape);
                info.put("data_offsets", new long[] {offset, offset + len});
                header.put(e.name, info);
                offset += len;
            }
            byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) & ~7;
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            head.flip();
            atomicWrite(file, ch -> {
                writeFully(ch, head);
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                for (Entry e : order) e.writeData(ch, buf);
            });
        }
    }

    private record Entry(String name, DType dtype, int[] shape, float[] floats, int floatOffset, int[] ints, long[] longs) {
        Entry {
            if (name == null) throw new IllegalArgumentException("safetensors: tensor name must not be null");
        }

        void writeData(FileChannel ch, ByteBuffer buf) throws IOException {
            int n = Shapes.numel(shape);
            if (floats != null) {
                int per = buf.capacity() / 4;
                for (int i = 0; i < n; i += per) {
                    int k = Math.min(per, n - i);
                    buf.clear();
                    buf.asFloatBuffer().put(floats, floatOffset + i, k);
                    buf.limit(k * 4);
                    writeFully(ch, buf);
                }
            } else {
                int per = buf.capacity() / 8;
                for (int i = 0; i < n; i += per) {
                    int k = Math.min(per, n - i);
                    buf.clear();
                    for (int j = 0; j < k; j++) buf.putLong(ints != null ? ints[i + j] : longs[i + j]);
                    buf.flip();
                    writeFully(ch, buf);
                }
            }
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Writes the contents of a file through a channel. */
    @FunctionalInterface
    interface ChannelWriter {
        void write(FileChannel ch) throws IOException;
    }

    /**
     * Runs {@code body} on a new temporary file next to {@code target}, forces it to disk, and renames it over
     * {@code target} atomically. On any failure the temporary file is deleted and {@code target} is untouched.
     */
    static void atomicWrite(Path target, ChannelWriter body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        boolean done = false;
        try {
            setPermissions(tmp, abs);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + abs + " atomically: " + e.getMessage(), e);
            }
            done = true;
            syncDirectory(dir);
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    /** Temp files are created owner-only; give the result the old file's permissions, or rw-r--r--. */
    private static void setPermissions(Path tmp, Path target) {
        PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
        if (view == null) return;
        try {
            Set<PosixFilePermission> perms = Files.exists(target)
                    ? Files.getPosixFilePermissions(target)
                    : PosixFilePermissions.fromString("rw-r--r--");
            view.setPermissions(perms);
        } catch (IOException | UnsupportedOperationException ignored) {
            // keep the temp file's default permissions
        }
    }

    /** Makes the rename durable (POSIX); best effort where directories cannot be opened. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported on this platform / file system
        }
    }
}
