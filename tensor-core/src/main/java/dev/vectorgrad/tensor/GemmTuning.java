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
     * Times each candidate kernel at the default blocks in a JVM of its own, twice, alternating (its best counts),
     * then the winner's KC, MC and NC one at a time in one more JVM. One JVM per kernel because C2's state is
     * part of the measurement: in one JVM that had run all seven kernels, the same plan measured 85 and then
     * 29 GFLOP/s (the driver recompiled with every kernel's profile), and so would the user's process after a
     * tuning run inside it. Each child times on one thread's CPU time, the median of interleaved rounds.
     * Where no child JVM can be started (no java executable, an odd class path), it all runs here.
     */
    static Result tune(boolean verbose) {
        StringBuilder report = new StringBuilder();
        Map<Gemm.Plan, Double> kernels = new LinkedHashMap<>();
        for (int round = 0; round < 2; round++)
            for (Gemm.Kernel kn : candidates()) {
                Gemm.Plan p = new Gemm.Plan(kn, 256, 144, 432);
                kernels.merge(p, child("kernel", List.of(p), report, verbose).getOrDefault(p, 0.0), Math::max);
            }
        Gemm.Plan best = argmax(kernels);
        Gemm.Kernel kn = best.kernel();
        int kc = best.kc(), mc = best.mc(), nc = best.nc();
        List<Gemm.Plan> blocks = List.of(best, new Gemm.Plan(kn, 128, mc, nc), new Gemm.Plan(kn, 384, mc, nc),
                new Gemm.Plan(kn, kc, 72, nc), new Gemm.Plan(kn, kc, 240, nc), new Gemm.Plan(kn, kc, mc, 216), new Gemm.Plan(kn, kc, mc, 864));
        Map<Gemm.Plan, Double> timed = child("blocks", blocks, report, verbose);
        return new Result(timed.isEmpty() ? best : argmax(timed), report.toString());
    }

    /** The fastest plan; ties go to the earlier. */
    private static Gemm.Plan argmax(Map<Gemm.Plan, Double> g) {
        Gemm.Plan best = null;
        for (var e : g.entrySet()) if (best == null || e.getValue() > g.get(best)) best = e.getKey();
        return best;
    }

    /** GFLOP/s of each plan, timed by {@link #main} in a child JVM with this one's options (else here). */
    private static Map<Gemm.Plan, Double> child(String what, List<Gemm.Plan> plans, StringBuilder report, boolean verbose) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String opt : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (!opt.startsWith("-agentlib") && !opt.startsWith("-javaagent") && !opt.startsWith("-Xrunjdwp")) cmd.add(opt);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(GemmTuning.class.getName());
        cmd.add(what);
        for (Gemm.Plan p : plans) cmd.add(p.toString());
        Map<Gemm.Plan, Double> g = new LinkedHashMap<>();
        try {
            Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            for (String line : new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4 && f[0].equals("result")) {
                    g.put(Gemm.Plan.parse(f[1], "tuning child"), Double.parseDouble(f[2]));
                    report.append(line, line.indexOf(f[3]), line.length()).append('\n');
                    if (verbose) System.err.println(line.substring(line.indexOf(f[3])));
                }
            }
            if (proc.waitFor() == 0 && g.size() == plans.size()) return g;
        } catch (IOException | RuntimeException e) {
            // fall through: measure here
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return race(what, plans, report, verbose);
    }

    /** The child JVM: {@code GemmTuning WHAT PLAN...} prints "result PLAN GFLOPS LINE" per plan. */
    public static void main(String[] args) {
        List<Gemm.Plan> plans = new ArrayList<>();
        for (int i = 1; i < args.length; i++) plans.add(Gemm.Plan.parse(args[i], "tuning child"));
        StringBuilder report = new StringBuilder();
        Map<Gemm.Plan, Double> g = race(args[0], plans, report, false);
        String[] lines = report.toString().split("\n");
        int i = 0;
        for (var e : g.entrySet()) System.out.println("result " + e.getKey() + " " + e.getValue() + " " + lines[i++]);
    }

    /**
     * GFLOP/s of each plan over interleaved rounds, 1 thread, after a warm-up: the flops of 512³ and 1024³ over the
     * sum of their median times. Two sizes because they take different paths: 512³ reads A in place, 1024³ (a row
     * stride of 4 KiB) packs it. With 512³ alone, the 256-bit tuning on a Zen 4 EPYC chose 4×2 (4×2 and 3×3 tie
     * there) although 3×3 is ~10% faster at 1024³ and 2048³ (medians 82–85 vs 76–78 and 78–81 vs 71–73 GFLOP/s,
     * each plan in its own JVM, CPU time).
     */
    private static Map<Gemm.Plan, Double> race(String what, List<Gemm.Plan> plans, StringBuilder report, boolean verbose) {
        int[] sizes = {512, 1024};
        int rounds = 9;
        int nMax = sizes[sizes.length - 1];
        SplittableRandom rnd = new SplittableRandom(1);
        float[] a = new float[nMax * nMax], b = new float[nMax * nMax], c = new float[nMax * nMax];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble();
            b[i] = (float) rnd.nextDouble();
        }
        Map<Gemm.Plan, double[][]> times = new LinkedHashMap<>();
        for (Gemm.Plan p : plans) {
            times.put(p, new double[sizes.length][rounds]);
            // Warm-up until C2 has compiled the kernel and the driver: 10 runs and at least 0.5 s, then each size twice.
            double spent = 0;
            for (int w = 0; w < 10 || spent < 0.5; w++) spent += run(p, sizes[0], a, b, c);
            for (int n : sizes) for (int w = 0; w < 2; w++) run(p, n, a, b, c);
        }
        for (int r = 0; r < rounds; r++)
            for (Gemm.Plan p : plans)
                for (int s = 0; s < sizes.length; s++) times.get(p)[s][r] = run(p, sizes[s], a, b, c);
        Map<Gemm.Plan, Double> g = new LinkedHashMap<>();
        for (var e : times.entrySet()) {
            double flops = 0, secs = 0;
            StringBuilder each = new StringBuilder();
            for (int s = 0; s < sizes.length; s++) {
                double[] t = e.getValue()[s].clone();
                Arrays.sort(t);
                double f = 2.0 * sizes[s] * sizes[s] * sizes[s];
                flops += f;
                secs += t[rounds / 2];
                each.append(String.format(java.util.Locale.ROOT, "%s%d^3 %.1f", s == 0 ? "" : ", ", sizes[s], f / t[rounds / 2] / 1e9));
            }
            double gf = flops / secs / 1e9;
            g.put(e.getKey(), gf);
            String line = String.format(java.util.Locale.ROOT, "%-6s %-18s %7.1f GFLOP/s (%s; medians of %d, 1 thread, CPU time)",
                    what, e.getKey(), gf, each, rounds);
            report.append(line).append('\n');
            if (verbose) System.err.println(line);
        }
        return g;
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
