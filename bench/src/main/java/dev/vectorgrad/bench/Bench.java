package dev.vectorgrad.bench;

import java.util.Arrays;

/** {@code ./vectorgrad bench SUBJECT ...}: dispatches to the benchmark of one subject. */
public final class Bench {
    private Bench() {}

    public static void main(String[] args) throws Exception {
        String subject = args.length > 0 ? args[0] : "";
        String[] rest = args.length > 0 ? Arrays.copyOfRange(args, 1, args.length) : args;
        switch (subject) {
            case "matmul" -> MatmulBench.main(rest);
            case "jmh" -> org.openjdk.jmh.Main.main(rest);
            default -> {
                System.err.println("usage: ./vectorgrad bench matmul --m M --n N --k K [--threads T] [--transpose-a] [--transpose-b] [--batch B]");
                System.err.println("       ./vectorgrad bench jmh [JMH ARGS]   (e.g. 'Gemm -p shape=768x128x384 -p threads=1')");
                System.exit(2);
            }
        }
    }
}
