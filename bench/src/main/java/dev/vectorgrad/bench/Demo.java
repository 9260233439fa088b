package dev.vectorgrad.bench;

import dev.vectorgrad.transformer.cli.SampleCommand;
import dev.vectorgrad.transformer.cli.TrainCommand;

/**
 * {@code ./vectorgrad demo}: the main job on embedded defaults. Until the PEFT comparison lands it is the
 * smaller end-to-end example: pretrain the baby GPT on the embedded English Europarl text for a short budget,
 * report the validation loss, and sample from the checkpoint.
 */
final class Demo {
    private Demo() {}

    static void run(String[] args) {
        String out = "runs/demo-gpt";
        String iters = "300";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--out" -> out = args[i + 1];
                case "--iters" -> iters = args[i + 1];
                default -> {
                    System.err.println("usage: ./vectorgrad demo [--iters N] [--out DIR]");
                    System.exit(2);
                }
            }
        }
        System.out.println("vectorgrad demo: pretraining a small GPT on the embedded Europarl English text (" + iters + " iterations)");
        TrainCommand.main(new String[] {"--preset", "baby", "--iters", iters, "--eval-interval", "100", "--out", out});
        System.out.println();
        System.out.println("sample:");
        SampleCommand.main(new String[] {"--checkpoint", out, "--prompt", "The ", "--tokens", "200", "--seed", "1"});
    }
}
