package dev.vectorgrad.bench;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./vectorgrad bench pingpong [--seconds S]}: how far apart this machine's two cores are right now. Two
 * threads hand a counter back and forth through one cache line; the round trip is printed every 0.25 s, then
 * the median. On these 2-vCPU VMs it reads either about 70 ns (both vCPUs on one CCD of the host) or about
 * 350 ns (on two), and switches every few seconds; every parallel kernel boundary pays it, so a two-thread
 * figure taken in one state is not comparable with one taken in the other. The benchmark scripts run it
 * before each round to say which state the round saw.
 */
final class PingPongBench {
    private PingPongBench() {}

    private static final AtomicLong FLAG = new AtomicLong();

    public static void main(String[] args) {
        double seconds = 2;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--seconds") && i + 1 < args.length) seconds = Double.parseDouble(args[++i]);
            else {
                System.err.println("usage: ./vectorgrad bench pingpong [--seconds S]");
                System.exit(2);
            }
        }
        Thread partner = new Thread(() -> {
            for (long v = 1; ; v += 2) {
                while (FLAG.get() != v) Thread.onSpinWait();
                FLAG.set(v + 1);
            }
        }, "pingpong-partner");
        partner.setDaemon(true);
        partner.start();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        java.util.List<Double> samples = new java.util.ArrayList<>();
        StringBuilder line = new StringBuilder();
        long v = 0;
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime(), trips = 0;
            while (System.nanoTime() - t0 < 250_000_000L) {
                for (int i = 0; i < 1000; i++) {
                    FLAG.set(v + 1);
                    while (FLAG.get() != v + 2) Thread.onSpinWait();
                    v += 2;
                }
                trips += 1000;
            }
            double ns = (System.nanoTime() - t0) / (double) trips;
            samples.add(ns);
            line.append(String.format(Locale.ROOT, "%.0f ", ns));
        }
        java.util.Collections.sort(samples);
        System.out.println("round trip ns every 0.25 s: " + line.toString().trim());
        System.out.printf(Locale.ROOT, "median round trip ns: %.0f%n", samples.get(samples.size() / 2));
    }
}
