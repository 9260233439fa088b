package dev.vectorgrad.bench;

import dev.vectorgrad.tensor.GemmTuning;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.peft.PeftLogitsCommand;
import dev.vectorgrad.transformer.cli.SampleCommand;
import dev.vectorgrad.transformer.cli.TokenizeCommand;
import dev.vectorgrad.transformer.cli.TrainCommand;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/** Entry point of the {@code ./vectorgrad} launcher: dispatches to a subcommand. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ./vectorgrad <command> [options]  (./vectorgrad --help lists them)");
            System.exit(2);
        }
        try {
            dispatch(args);
        } catch (IllegalArgumentException e) {
            // A malformed VECTORGRAD_GEMM surfaces at the first GEMM, deep in any command: one line, not a trace.
            if (e.getMessage() == null || !e.getMessage().startsWith("VECTORGRAD_GEMM=")) throw e;
            System.err.println("vectorgrad: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void dispatch(String[] args) throws Exception {
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "info" -> info();
            case "tune" -> System.out.print(GemmTuning.tuneAndStore());
            case "bench" -> Bench.run(rest);
            case "train" -> TrainCommand.main(rest);
            case "sample" -> exit(SampleCommand.run(rest, System.out, System.err, dev.vectorgrad.peft.cli.AdapterFolders::apply));
            case "eval" -> dev.vectorgrad.peft.cli.EvalCommand.main(rest);
            case "tokenize" -> TokenizeCommand.main(rest);
            case "logits" -> PeftLogitsCommand.main(rest);
            case "finetune" -> dev.vectorgrad.peft.cli.FinetuneCommand.main(rest);
            case "embed" -> dev.vectorgrad.encoder.EmbedCommand.main(rest);
            case "demo" -> Demo.run(rest);
            case "analyze" -> dev.vectorgrad.peft.demo.Analyze.main(rest);
            default -> {
                System.err.println("vectorgrad: unknown command '" + args[0] + "' (./vectorgrad --help lists them)");
                System.exit(2);
            }
        }
    }

    private static void exit(int rc) {
        if (rc != 0) System.exit(rc);
    }

    static void info() {
        var species = FloatVector.SPECIES_PREFERRED;
        System.out.println("vectorgrad 0.1.0");
        System.out.println("JDK: " + System.getProperty("java.vm.vendor") + " " + Runtime.version() + " (" + System.getProperty("java.home") + ")");
        System.out.println("vector species: " + species + ", lanes: " + species.length() + " floats (" + species.vectorBitSize() + " bits)");
        System.out.println("GEMM plan: " + GemmTuning.describe());
        System.out.println("threads: " + Parallel.threads() + " (of " + Runtime.getRuntime().availableProcessors() + " processors)");
    }
}
