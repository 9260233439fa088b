package dev.vectorgrad.tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Chooses the GEMM's plan (kernel and block sizes) by measurement, like ATLAS or FFTW's wisdom: the winner is
 * stored per CPU model, vector width and JDK in {@code $XDG_CACHE_HOME/vectorgrad} (else
 * {@code ~/.cache/vectorgrad}). Order: {@code VECTORGRAD_GEMM=kernel,kc,mc,nc}; the built-in table when
 * {@code -Dvectorgrad.gemm.tune=false} (tests, CI); the stored file; tuning now (once, said on stderr) and
 * storing it; the built-in table when the folder is not writable.
 */
public final class GemmTuning {
    private GemmTuning() {}

    /** Where the plan in use came from, for {@link #describe()}. */
    private static volatile String source = "not chosen yet";

    static Gemm.Plan choose() {
        String env = System.getenv("VECTORGRAD_GEMM");
        if (env != null && !env.isBlank()) {
            source = "VECTORGRAD_GEMM";
            return Gemm.Plan.parse(env, "VECTORGRAD_GEMM");
        }
        if (!Boolean.parseBoolean(System.getProperty("vectorgrad.gemm.tune", "true"))) {
            source = "built-in table (tuning off: -Dvectorgrad.gemm.tune=false)";
            return Gemm.builtinPlan();
        }
        Path file = file();
        try {
            if (Files.isRegularFile(file)) {
                Gemm.Plan p = read(file);
                source = "tuned, " + file;
                return p;
            }
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("vectorgrad: ignoring " + file + " (" + e.getMessage() + "); tuning again");
        }
        if (!writable(file.getParent())) {
            source = "built-in table (" + file.getParent() + " is not writable)";
            return Gemm.builtinPlan();
        }
        System.err.println("vectorgrad: tuning the GEMM for this CPU, once (a few seconds; stored in " + file + ")");
        Result r = tune(false);
        try {
            write(file, r);
            source = "tuned, " + file;
        } catch (IOException e) {
            source = "tuned now, not stored (" + e.getMessage() + ")";
        }
        return r.best;
    }

    /** "4x3,256,144,432 (tuned, /home/u/.cache/vectorgrad/gemm-....txt)": the plan in use and where it came from. */
    public static String describe() {
        Gemm.Plan p = Gemm.plan();
        return p + " (kernel " + p.kernel().label() + " = " + p.mr() + " rows × " + p.kernel().nv + " vectors, kc " + p.kc()
                + ", mc " + p.mc() + ", nc " + p.nc() + "; " + source + ")";
    }

    /** Runs the tuning now and stores the winner; returns a report of every timing. For {@code ./vectorgrad tune}. */
    public static String tuneAndStore() throws IOException {
        Result r = tune(true);
        Path f = file();
        write(f, r);
        return r.report + "stored " + r.best + " in " + f + "\n";
    }

    /** The tuning file for this CPU model, vector width and JDK. */
    static Path file() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = xdg != null && !xdg.isBlank() ? Path.of(xdg, "vectorgrad") : Path.of(System.getProperty("user.home"), ".cache", "vectorgrad");
        return dir.resolve("gemm-" + key().replaceAll("[^A-Za-z0-9._-]+", "_") + ".txt");
    }

    /** CPU model, vector width and JDK feature version: what the winner depends on. */
    static String key() {
        return cpuModel() + "-" + Gemm.S.vectorBitSize() + "bit-jdk" + Runtime.version().feature();
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8))
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch") + "-" + Runtime.getRuntime().availableProcessors() + "cpu";
    }

    private static boolean writable(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.isWritable(dir);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    static Gemm.Plan read(Path f) throws IOException {
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8))
            if (line.startsWith("plan=")) return Gemm.Plan.parse(line.substring(5), f.toString());
        throw new IOException("no plan= line");
    }

    /** Writes the file atomically: a temporary file beside it, then a rename. */
    static void write(Path f, Result r) throws IOException {
        Files.createDirectories(f.getParent());
        Path tmp = Files.createTempFile(f.getParent(), f.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, "# vectorgrad GEMM plan for " + key() + " (./vectorgrad tune redoes it)\nplan=" + r.best + "\n"
                    + r.report.lines().map(l -> "# " + l).reduce("", (x, y) -> x + y + "\n"), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    record Result(Gemm.Plan best, String report) {}

    /** Vector registers: 32 with 512-bit vectors (AVX-512), else 16 (AVX2's ymm). */
    static int registers() {
        return Gemm.L >= 16 ? 32 : 16;
    }

    /** The kernels that fit the register file. */
    static List<Gemm.Kernel> candidates() {
        return Arrays.stream(Gemm.Kernel.values()).filter(k -> k.registers() <= registers()).toList();
    }

    /**
     * Times the candidate kernels at the default blocks, then the winner's KC, MC and NC one after another, on one
     * thread (steadier on a shared machine): each round times every candidate once, in turn, so a noisy neighbour
     * hits them all alike; the median over the rounds decides.
     */
    static Result tune(boolean verbose) {
        int n = 512;
        SplittableRandom rnd = new SplittableRandom(1);
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble();
            b[i] = (float) rnd.nextDouble();
        }
        StringBuilder report = new StringBuilder();
        List<Gemm.Plan> kernels = new ArrayList<>();
        for (Gemm.Kernel kn : candidates()) kernels.add(new Gemm.Plan(kn, 256, 144, 432));
        Gemm.Plan best = race("kernel", kernels, n, a, b, c, report, verbose);
        Gemm.Kernel kn = best.kernel();
        best = race("kc", List.of(best, new Gemm.Plan(kn, 128, best.mc(), best.nc()), new Gemm.Plan(kn, 384, best.mc(), best.nc())),
                n, a, b, c, report, verbose);
        best = race("mc", List.of(best, new Gemm.Plan(kn, best.kc(), 72, best.nc()), new Gemm.Plan(kn, best.kc(), 240, best.nc())),
                n, a, b, c, report, verbose);
        best = race("nc", List.of(best, new Gemm.Plan(kn, best.kc(), best.mc(), 216), new Gemm.Plan(kn, best.kc(), best.mc(), 864)),
                n, a, b, c, report, verbose);
        return new Result(best, report.toString());
    }

    /** Median GFLOP/s of each plan over interleaved rounds; the fastest wins (ties: the earlier). */
    private static Gemm.Plan race(String what, List<Gemm.Plan> plans, int n, float[] a, float[] b, float[] c,
                                  StringBuilder report, boolean verbose) {
        int rounds = 9;
        Map<Gemm.Plan, double[]> times = new LinkedHashMap<>();
        for (Gemm.Plan p : plans) {
            times.put(p, new double[rounds]);
            // Warm-up until C2 has compiled the kernel and the driver: 3 runs and at least 0.3 s.
            double spent = 0;
            for (int w = 0; w < 3 || spent < 0.3; w++) spent += run(p, n, a, b, c);
        }
        for (int r = 0; r < rounds; r++)
            for (Gemm.Plan p : plans) times.get(p)[r] = run(p, n, a, b, c);
        Gemm.Plan best = null;
        double bestG = 0;
        for (var e : times.entrySet()) {
            double[] t = e.getValue().clone();
            Arrays.sort(t);
            double g = 2.0 * n * n * n / t[rounds / 2] / 1e9;
            String line = String.format("%-6s %-18s %7.1f GFLOP/s (median of %d, 1 thread, %d^3, CPU time)", what, e.getKey(), g, rounds, n);
            report.append(line).append('\n');
            if (verbose) System.err.println(line);
            if (g > bestG) {
                bestG = g;
                best = e.getKey();
            }
        }
        return best;
    }

    /**
     * Seconds of this thread's CPU time for one multiply (one thread: the GEMM runs on the caller). CPU time,
     * not wall time: on a shared machine the time spent descheduled would otherwise decide the race.
     */
    private static double run(Gemm.Plan p, int n, float[] a, float[] b, float[] c) {
        boolean cpu = CPU.isCurrentThreadCpuTimeSupported();
        long t0 = cpu ? CPU.getCurrentThreadCpuTime() : System.nanoTime();
        // mayParallel = false: on the calling thread, and safe inside a pool task (the first GEMM may be one).
        Gemm.gemm(p, false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n, false);
        return ((cpu ? CPU.getCurrentThreadCpuTime() : System.nanoTime()) - t0) * 1e-9;
    }

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
}
