package dev.vectorgrad.bench;

import java.util.Arrays;

/** {@code ./vectorgrad bench <what> ...}: dispatches to one benchmark. */
public final class Bench {
    private Bench() {}

    public static void run(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ./vectorgrad bench <ops|matmul|fma|pingpong|mlp|peft|gen|tokenize|svd|embed|jmh> [options]");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "ops" -> OpsBench.main(rest);
            case "matmul" -> MatmulBench.main(rest);
            case "fma" -> FmaPeakBench.main(rest);
            case "pingpong" -> PingPongBench.main(rest);
            case "mlp" -> MlpBench.main(rest);
            case "peft" -> PeftStepBench.main(rest);
            case "gen" -> GenBench.main(rest);
            case "tokenize" -> TokenizeBench.main(rest);
            case "svd" -> SvdBench.main(rest);
            case "embed" -> EmbedBench.main(rest);
            case "jmh" -> org.openjdk.jmh.Main.main(rest);
            default -> {
                System.err.println("vectorgrad bench: unknown benchmark '" + args[0] + "' (ops, matmul, fma, pingpong, mlp, peft, gen, tokenize, svd, embed, jmh)");
                System.exit(2);
            }
        }
    }
}
