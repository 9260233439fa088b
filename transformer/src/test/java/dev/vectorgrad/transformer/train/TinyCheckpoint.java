package dev.vectorgrad.transformer.train;

import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.CharTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** A checkpoint of a tiny GPT after two training steps, for the checkpoint-reading tests. */
final class TinyCheckpoint {
    static final String TEXT = "the quick brown fox jumps over the lazy dog. ".repeat(20);

    private TinyCheckpoint() {}

    /** Writes the checkpoint to {@code dir} (with {@link Trainer#save}) and returns {@code dir}. */
    static Path write(Path dir) {
        try {
            CharTokenizer tok = CharTokenizer.fit(TEXT);
            GptConfig c = new GptConfig(tok.vocabSize(), 8, 1, 2, 8, 0.1, true, GptConfig.Activation.GELU_TANH, 1e-5);
            Trainer t = Trainer.create(c, tok, TEXT, Trainer.Options.baby().withBatch(2).withEval(1, 1).withLog(1).withSeed(7));
            t.run(2, new PrintStream(new ByteArrayOutputStream()), null, false);
            t.save(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
