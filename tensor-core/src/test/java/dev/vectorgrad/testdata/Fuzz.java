package dev.vectorgrad.testdata;

import dev.vectorgrad.tensor.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.lifecycle.AfterContainerHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.ContainerLifecycleContext;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The shared pieces of the loader fuzz tests (issue 12 §5): how many tries and which seed, mutations of valid
 * files, and the check that a load ends cleanly.
 *
 * <p><b>Tries and seed.</b> A fuzz test class extends {@link FuzzContainer} (or carries
 * {@code @AddLifecycleHook(Fuzz.Settings.class)} itself); every
 * {@code @Property} in it then runs {@code -Dvectorgrad.fuzz.tries} tries (1,000 by default, as in CI) from the
 * seed {@code -Dvectorgrad.fuzz.seed} (a fixed number by default, so CI is reproducible; {@code random} lets jqwik
 * pick one and print it). The parent POM passes both to Surefire's JVM, so the long run is
 * <pre>mvn -B install -pl tensor-core,autograd,transformer,peft -Dtest='*FuzzTest' -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dvectorgrad.fuzz.tries=1000000 -Dvectorgrad.fuzz.seed=random</pre>
 * (one class: {@code -Dtest=SafetensorsFuzzTest}). A failure prints jqwik's shrunk sample and the seed;
 * {@code -Dvectorgrad.fuzz.seed=<that seed>} replays it.
 *
 * <p><b>Mutations.</b> A {@link Mutation} list edits the bytes of a real, valid file: bit flips, interesting bytes,
 * truncation, deleted, inserted and duplicated ranges, an 8-byte little-endian length at the start, a number or a
 * string of the JSON text replaced by an extreme one, deep nesting. {@link #mutateJson} edits a parsed JSON tree
 * instead (a value replaced by another type or an extreme value, a key dropped or added), so that the file stays
 * JSON and the reader's checks behind the parser are reached.
 *
 * <p><b>Outcome.</b> {@link #load} runs a load on a thread with a 1 MiB stack and a time limit: it must return,
 * or throw an {@link IllegalArgumentException} (a {@code SafetensorsException} is one) whose message names the
 * file; anything else (an {@code ArrayIndexOutOfBoundsException}, {@code NegativeArraySizeException},
 * {@code NumberFormatException}, {@code ClassCastException}, {@code NullPointerException}, an
 * {@code OutOfMemoryError}, a {@code StackOverflowError}, an {@code IOException} of a file that was there, or a
 * hang) fails the property.
 */
public final class Fuzz {
    /** System property: tries per property (default {@value #DEFAULT_TRIES}). */
    public static final String TRIES = "vectorgrad.fuzz.tries";
    /** System property: the jqwik seed, a number, or {@code random}. */
    public static final String SEED = "vectorgrad.fuzz.seed";
    static final int DEFAULT_TRIES = 1000;
    static final String DEFAULT_SEED = "20261207";
    /** The longest one load may take before it counts as a hang. */
    static final long TIME_LIMIT_S = 30;

    private Fuzz() {}

    /** Tries for every property of the class: {@code -Dvectorgrad.fuzz.tries}, else 1,000. */
    public static int tries() {
        String s = System.getProperty(TRIES);
        return s == null || s.isBlank() ? DEFAULT_TRIES : Integer.parseInt(s.trim());
    }

    /** The seed: {@code -Dvectorgrad.fuzz.seed}, else a fixed one; null for {@code random}. */
    public static String seed() {
        String s = System.getProperty(SEED);
        if (s == null || s.isBlank()) return DEFAULT_SEED;
        return s.trim().equalsIgnoreCase("random") ? null : s.trim();
    }

    /**
     * Applies {@link #tries()} and {@link #seed()} to each property of a class annotated with it (or extending
     * {@link FuzzContainer}), and after the class deletes the folder {@link #tempDir(Class, String)} made for it.
     */
    public static final class Settings implements AroundPropertyHook, AfterContainerHook {
        @Override
        public PropagationMode propagateTo() {
            return PropagationMode.ALL_DESCENDANTS; // from the class to each of its properties
        }

        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            context.attributes().setTries(tries());
            String seed = seed();
            if (seed != null) context.attributes().setSeed(seed);
            long t0 = System.nanoTime();
            PropertyExecutionResult r = property.execute();
            System.out.printf("fuzz %s.%s: %d tries, seed %s, %.1f s%n", context.containerClass().getSimpleName(),
                    context.targetMethod().getName(), tries(), r.seed().orElse("?"), (System.nanoTime() - t0) / 1e9);
            return r;
        }

        @Override
        public void afterContainer(ContainerLifecycleContext context) {
            context.optionalContainerClass().ifPresent(c -> deleteTree(TEMP_DIRS.remove(c)));
        }
    }

    /** The folders {@link #tempDir(Class, String)} made, by test class, until {@link Settings} deletes them. */
    private static final Map<Class<?>, Path> TEMP_DIRS = new java.util.concurrent.ConcurrentHashMap<>();

    // ================================================================ outcome

    private static final ExecutorService RUNNER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(null, r, "fuzz-load", 1 << 20); // an ordinary thread's stack, not Surefire's -Xss8m
        t.setDaemon(true);
        return t;
    });

    /** A load that may throw anything. */
    @FunctionalInterface
    public interface Load<T> {
        T run() throws Exception;
    }

    /**
     * Runs {@code load} (which reads {@code file}) and returns its result, or null when it threw an
     * {@link IllegalArgumentException} naming the file. Any other ending fails with an {@link AssertionError}.
     */
    public static <T> T load(Path file, Load<T> load) {
        Future<T> f = RUNNER.submit((Callable<T>) load::run);
        Throwable thrown;
        try {
            return f.get(TIME_LIMIT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError("loading a fuzzed " + file.getFileName() + " did not end in " + TIME_LIMIT_S + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            thrown = e.getCause();
        }
        if (thrown instanceof IllegalArgumentException iae && !(thrown instanceof NumberFormatException)) {
            String msg = iae.getMessage();
            if (msg == null || !msg.contains(file.getFileName().toString()))
                throw new AssertionError("the rejection of a fuzzed file does not name " + file.getFileName() + ": " + msg, iae);
            return null;
        }
        throw new AssertionError("loading a fuzzed " + file.getFileName() + " ended in " + thrown, thrown);
    }

    /** Writes {@code bytes} to {@code file} (plainly: the fuzz tests own their temporary folders). */
    public static Path write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bytes of a file. */
    public static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new temporary folder for one test class (delete it with {@link #deleteTree}). */
    public static Path tempDir(String name) {
        try {
            return Files.createTempDirectory("vectorgrad-fuzz-" + name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A new temporary folder for test class {@code owner}, deleted after its last property by {@link Settings}
     * (which a {@link FuzzContainer} carries); one per class.
     */
    public static Path tempDir(Class<?> owner, String name) {
        Path dir = tempDir(name);
        Path old = TEMP_DIRS.putIfAbsent(owner, dir);
        if (old != null) {
            deleteTree(dir);
            throw new IllegalStateException("fuzz: " + owner.getSimpleName() + " already has a temporary folder, " + old);
        }
        return dir;
    }

    /** Deletes a folder and everything in it. */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ================================================================ byte and text mutations

    /** The kinds of edit a {@link Mutation} makes. */
    public enum Op {
        FLIP_BIT, SET_BYTE, TRUNCATE, DELETE, INSERT_RANDOM, DUPLICATE, LENGTH_PREFIX, PUT_LONG, NUMBER, STRING, NEST, RANDOM_FILE
    }

    /** One edit: {@code at} and {@code len} pick where (taken modulo the size), {@code value} what. */
    public record Mutation(Op op, int at, int len, long value) {}

    /** Bytes that mean something to the readers: JSON punctuation, digits, high bits, NUL. */
    static final byte[] INTERESTING_BYTES = {0, 1, -1, 0x7F, (byte) 0x80, (byte) 0xC0, (byte) 0xFE, '{', '}', '[', ']', '"', ',', ':',
        '-', '0', '9', 'e', '.', '\\', ' ', '\n', 'n', 't'};

    /** Numbers that break sizes and casts. */
    static final String[] INTERESTING_NUMBERS = {"0", "-1", "1", "2", "-0", "0.5", "1.0", "1e2", "-1e-7", "2147483647", "2147483648",
        "-2147483648", "-2147483649", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "1e308", "1e309", "-1e309", "4.9e-324", "1e-400", "1" + "0".repeat(400),
        "123456789".repeat(100), "0." + "1".repeat(300), "1e999999999", "1E-999999999"};

    /** JSON tokens put in place of a string literal. */
    static final String[] INTERESTING_TOKENS = {"null", "true", "false", "0", "-1", "1e309", "[]", "{}", "[[]]", "{\"\":{}}", "\"\"",
        "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I32\"", "\"U8\"", "\"BOOL\"", "\"F8_E4M3\"", "\"f32\"", "\"__metadata__\"",
        "\"gpt2\"", "\"LORA\"", "\"VERA\"", "\"all-linear\"", "\"c_attn\"", "\"(\"", "\"[a-\"", "\".*\"", "\"\\ud800\"", "\"\\u0000\"",
        "\"" + "x".repeat(5000) + "\""};

    /** 1 to 4 random edits. */
    public static Arbitrary<List<Mutation>> mutations() {
        return mutation().list().ofMinSize(1).ofMaxSize(4);
    }

    /** One random edit. */
    public static Arbitrary<Mutation> mutation() {
        return Combinators.combine(Arbitraries.of(Op.values()), Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.integers().between(0, 64), Arbitraries.longs()).as(Mutation::new);
    }

    /** {@code base} with the edits applied in order (base is not changed). */
    public static byte[] mutate(byte[] base, List<Mutation> edits) {
        byte[] b = base.clone();
        for (Mutation m : edits) b = apply(b, m);
        return b;
    }

    static byte[] apply(byte[] b, Mutation m) {
        int n = b.length;
        int at = n == 0 ? 0 : Math.floorMod(m.at(), n);
        long v = m.value();
        switch (m.op()) {
            case FLIP_BIT -> {
                if (n > 0) b[at] ^= (byte) (1 << (v & 7));
                return b;
            }
            case SET_BYTE -> {
                if (n > 0) b[at] = INTERESTING_BYTES[Math.floorMod(v, INTERESTING_BYTES.length)];
                return b;
            }
            case TRUNCATE -> {
                return Arrays.copyOf(b, Math.floorMod(m.at(), n + 1));
            }
            case DELETE -> {
                int end = Math.min(n, at + m.len() + 1);
                return concat(Arrays.copyOfRange(b, 0, at), Arrays.copyOfRange(b, end, n));
            }
            case INSERT_RANDOM -> {
                byte[] r = new byte[m.len() + 1];
                new Random(v).nextBytes(r);
                return concat(Arrays.copyOfRange(b, 0, at), r, Arrays.copyOfRange(b, at, n));
            }
            case DUPLICATE -> {
                int end = Math.min(n, at + m.len() + 1);
                return concat(Arrays.copyOfRange(b, 0, end), Arrays.copyOfRange(b, at, n));
            }
            case LENGTH_PREFIX -> {
                return putLong(b, 0, interestingLong(v, n));
            }
            case PUT_LONG -> {
                return putLong(b, at, interestingLong(v, n));
            }
            case NUMBER -> {
                return replaceNumber(b, m.at(), INTERESTING_NUMBERS[Math.floorMod(v, INTERESTING_NUMBERS.length)]);
            }
            case STRING -> {
                return replaceString(b, m.at(), INTERESTING_TOKENS[Math.floorMod(v, INTERESTING_TOKENS.length)]);
            }
            case NEST -> {
                int depth = (int) Math.floorMod(v, 20_000L) + 1;
                String open = (v & 1) == 0 ? "[" : "{\"a\":";
                byte[] deep = open.repeat(depth).getBytes(StandardCharsets.US_ASCII);
                return concat(Arrays.copyOfRange(b, 0, at), deep, Arrays.copyOfRange(b, at, n));
            }
            case RANDOM_FILE -> {
                byte[] r = new byte[m.len() * 16];
                new Random(v).nextBytes(r);
                return r;
            }
        }
        throw new AssertionError(m);
    }

    /** A long that is near a boundary: 0, -1, the file size ± 1, 2^31, 2^63 - 1, or {@code v} itself. */
    static long interestingLong(long v, int n) {
        long[] c = {0, -1, 1, 7, 8, n, n - 1, n + 1, n - 8, (long) n << 1, Integer.MAX_VALUE, 1L << 31, 1L << 32, 100_000_000L,
            100_000_001L, Long.MAX_VALUE, Long.MIN_VALUE, v};
        return c[(int) Math.floorMod(v >>> 8, (long) c.length)];
    }

    static byte[] putLong(byte[] b, int at, long x) {
        byte[] out = b.length < at + 8 ? Arrays.copyOf(b, at + 8) : b;
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(at, x);
        return out;
    }

    /** Replaces the k-th (mod the count) run of digits, with its sign, by {@code text}. */
    static byte[] replaceNumber(byte[] b, int k, String text) {
        List<int[]> runs = new ArrayList<>();
        for (int i = 0; i < b.length; ) {
            if (b[i] >= '0' && b[i] <= '9') {
                int s = i > 0 && b[i - 1] == '-' ? i - 1 : i;
                while (i < b.length && (b[i] >= '0' && b[i] <= '9' || b[i] == '.' || b[i] == 'e' || b[i] == 'E'
                        || ((b[i] == '-' || b[i] == '+') && (b[i - 1] == 'e' || b[i - 1] == 'E')))) i++;
                runs.add(new int[] {s, i});
            } else {
                i++;
            }
        }
        if (runs.isEmpty()) return b;
        int[] r = runs.get(Math.floorMod(k, runs.size()));
        return splice(b, r[0], r[1], text);
    }

    /** Replaces the k-th (mod the count) string literal, quotes included, by {@code token}. */
    static byte[] replaceString(byte[] b, int k, String token) {
        List<int[]> lits = new ArrayList<>();
        for (int i = 0; i < b.length; i++) {
            if (b[i] != '"') continue;
            int s = i++;
            while (i < b.length && b[i] != '"') i += b[i] == '\\' ? 2 : 1;
            if (i >= b.length) break;
            lits.add(new int[] {s, i + 1});
        }
        if (lits.isEmpty()) return b;
        int[] r = lits.get(Math.floorMod(k, lits.size()));
        return splice(b, r[0], r[1], token);
    }

    static byte[] splice(byte[] b, int from, int to, String text) {
        return concat(Arrays.copyOfRange(b, 0, from), text.getBytes(StandardCharsets.UTF_8), Arrays.copyOfRange(b, to, b.length));
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    // ================================================================ JSON tree mutations

    /** The kinds of edit a {@link JsonEdit} makes on a parsed tree. */
    public enum JsonOp { REPLACE, DROP, ADD }

    /** One tree edit: {@code node} picks a value in pre-order (mod the count), {@code value} the new content. */
    public record JsonEdit(JsonOp op, int node, int value) {}

    /** 1 to 3 random tree edits. */
    public static Arbitrary<List<JsonEdit>> jsonEdits() {
        return Combinators.combine(Arbitraries.of(JsonOp.values()), Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(JsonEdit::new).list().ofMinSize(1).ofMaxSize(3);
    }

    /** Values put into a tree: every JSON type, extreme numbers, the readers' own words. */
    static Object interestingValue(int k) {
        Object[] c = {null, true, false, 0L, -1L, 1L, 2L, 3L, 7L, 8L, 2147483647L, 2147483648L, -2147483648L, 4294967296L, Long.MAX_VALUE,
            Long.MIN_VALUE, new BigInteger("18446744073709551616"), new BigInteger("1" + "0".repeat(60)), 0.5, -0.0, 1.5, 1e-300, 1e308,
            -1e308, Double.MIN_VALUE, "", "F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "bogus", "gpt2", "gelu", "gelu_new", "LORA",
            "VERA", "all-linear", "c_attn", "c_proj", "(", ".*", "GELU", "GELU_TANH", "char", "byte", "12345678901234567890", "-5", "x".repeat(3000),
            List.of(), List.of(0L), List.of(-1L), List.of(1L, 1L), List.of(0L, 0L), List.of(0L, 4L), List.of(2147483647L, 2147483647L),
            List.of(4294967296L, 4294967296L, 4294967296L), List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), List.of("a"), List.of("c_attn"),
            List.of(List.of()), List.of(1.5), List.of(Long.MAX_VALUE, Long.MAX_VALUE), obj(), obj("a", 1L),
            obj("dtype", "F32", "shape", List.of(), "data_offsets", List.of(0L, 4L))};
        return c[Math.floorMod(k, c.length)];
    }

    /** A JSON object of key, value pairs, in order (Map.of's order changes from one JVM to the next). */
    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** The JSON text {@code json} with the edits applied (parsed, edited, written compactly). */
    public static byte[] mutateJson(byte[] json, List<JsonEdit> edits) {
        Object tree = Json.parse(json);
        for (JsonEdit e : edits) tree = edit(tree, e);
        return Json.write(tree).getBytes(StandardCharsets.UTF_8);
    }

    private record Slot(Object container, Object key) {}

    @SuppressWarnings("unchecked")
    static Object edit(Object root, JsonEdit e) {
        root = mutable(root);
        List<Slot> slots = new ArrayList<>();
        collect(root, slots);
        Object v = interestingValue(e.value());
        if (slots.isEmpty()) return e.op() == JsonOp.REPLACE ? v : root;
        Slot s = slots.get(Math.floorMod(e.node(), slots.size()));
        if (s.container == null) return e.op() == JsonOp.REPLACE ? v : root; // the root itself
        switch (e.op()) {
            case REPLACE -> {
                if (s.container instanceof Map<?, ?> m) ((Map<String, Object>) m).put((String) s.key, v);
                else ((List<Object>) s.container).set((Integer) s.key, v);
            }
            case DROP -> {
                if (s.container instanceof Map<?, ?> m) m.remove(s.key);
                else ((List<Object>) s.container).remove((int) (Integer) s.key);
            }
            case ADD -> {
                if (s.container instanceof Map<?, ?> m) ((Map<String, Object>) m).put("k" + e.value() % 7, v);
                else ((List<Object>) s.container).add(v);
            }
        }
        return root;
    }

    /** Every value in pre-order with where it sits (the root with a null container); containers made mutable. */
    @SuppressWarnings("unchecked")
    private static void collect(Object root, List<Slot> out) {
        out.add(new Slot(null, null));
        walk(root, out);
    }

    @SuppressWarnings("unchecked")
    private static void walk(Object v, List<Slot> out) {
        if (v instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> en : new ArrayList<>(m.entrySet())) {
                Object c = mutable(en.getValue());
                ((Map<Object, Object>) m).put(en.getKey(), c);
                out.add(new Slot(m, en.getKey()));
                walk(c, out);
            }
        } else if (v instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                Object c = mutable(l.get(i));
                ((List<Object>) l).set(i, c);
                out.add(new Slot(l, i));
                walk(c, out);
            }
        }
    }

    private static Object mutable(Object v) {
        if (v instanceof Map<?, ?> m && !(m instanceof LinkedHashMap)) return new LinkedHashMap<>(m);
        if (v instanceof List<?> l && !(l instanceof ArrayList)) return new ArrayList<>(l);
        return v;
    }

    // ================================================================ safetensors

    /** The header (JSON bytes, padding kept) and the data area of a valid safetensors file. */
    public record SafetensorsParts(byte[] header, byte[] data) {
        /** Splits a valid file. */
        public static SafetensorsParts of(byte[] file) {
            long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            return new SafetensorsParts(Arrays.copyOfRange(file, 8, 8 + (int) n), Arrays.copyOfRange(file, 8 + (int) n, file.length));
        }

        /** A file of {@code header} (its true length in front) and this data area. */
        public byte[] with(byte[] header) {
            byte[] len = new byte[8];
            ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            return concat(len, header, data);
        }
    }

    /**
     * A mutant of a valid safetensors file: {@code mode} 0 edits the bytes; 1 edits the header's JSON tree and
     * rewrites the length in front; 2 does 1 and then edits the bytes; 3 edits the header's text (numbers,
     * strings, nesting) with the length rewritten.
     */
    public static byte[] mutateSafetensors(byte[] file, int mode, List<JsonEdit> tree, List<Mutation> bytes) {
        SafetensorsParts p = SafetensorsParts.of(file);
        return switch (Math.floorMod(mode, 4)) {
            case 0 -> mutate(file, bytes);
            case 1 -> p.with(mutateJson(trimmed(p.header()), tree));
            case 2 -> mutate(p.with(mutateJson(trimmed(p.header()), tree)), bytes);
            default -> p.with(mutate(p.header(), bytes));
        };
    }

    /**
     * A mutant of a JSON file: {@code mode} 0 edits the bytes; 1 edits the tree; 2 both (tree, then bytes).
     */
    public static byte[] mutateJsonFile(byte[] json, int mode, List<JsonEdit> tree, List<Mutation> bytes) {
        return switch (Math.floorMod(mode, 3)) {
            case 0 -> mutate(json, bytes);
            case 1 -> mutateJson(json, tree);
            default -> mutate(mutateJson(json, tree), bytes);
        };
    }

    private static byte[] trimmed(byte[] header) {
        int end = header.length;
        while (end > 0 && header[end - 1] == ' ') end--;
        return Arrays.copyOf(header, end);
    }
}
