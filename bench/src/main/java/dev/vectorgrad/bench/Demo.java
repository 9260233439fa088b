package dev.vectorgrad.bench;

import dev.vectorgrad.peft.demo.PeftDemo;

/**
 * {@code ./vectorgrad demo}: the main job on embedded defaults — pretrain a small GPT on English, adapt it to
 * Dutch with every PEFT method for the same budget and print the comparison table ({@link PeftDemo}).
 */
final class Demo {
    private Demo() {}

    static void run(String[] args) throws Exception {
        // `demo classify`: MiniLM fine-tuned on SpamAssassin with each method (issue #15 §4)
        if (args.length > 0 && args[0].equals("classify")) dev.vectorgrad.encoder.classify.ClassifyDemo.main(java.util.Arrays.copyOfRange(args, 1, args.length));
        else PeftDemo.main(args);
    }
}
