package dev.vectorgrad.transformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.transformer.data.BpeTokenizer;
import dev.vectorgrad.transformer.data.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tokenize} (ids checked against jtokkit), and {@code train --tokenizer} → {@code sample} on GPT-2's BPE ids. */
class BpeCommandsTest {
    static final Path GPT2 = TestData.file("gpt2-tokenizer");

    private static String ids(Encoding e, String s) {
        return Arrays.stream(e.encodeOrdinary(s).toArray()).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }

    @Test
    void tokenizePrintsOneLineOfIdsPerInputLine(@TempDir Path tmp) throws Exception {
        Encoding jt = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        Path in = tmp.resolve("lines.txt");
        Files.writeString(in, "The quick brown fox jumps over the lazy dog.\n\n  DON'T 🤗 naïve\r\nHello<|endoftext|> world\n", StandardCharsets.UTF_8);
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = TokenizeCommand.run(new String[] {"--tokenizer", GPT2.toString(), "--inputs", in.toString()}, new PrintStream(o), new PrintStream(e));
        assertThat(rc).as(e.toString()).isZero();
        String want = "464 2068 7586 21831 18045 625 262 16931 3290 13\n"  // gpt2-tokenizer/README.md
                + "\n"
                + ids(jt, "  DON'T 🤗 naïve") + "\n"
                + ids(jt, "Hello") + " 50256 " + ids(jt, " world") + "\n";  // <|endoftext|> as its one id, like HF's GPT2Tokenizer
        assertThat(o.toString(StandardCharsets.UTF_8)).isEqualTo(want);
        assertThat(e.toString()).isEmpty();
    }

    @Test
    void tokenizeMissingFilesAreOneLineAndExitCode2(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-lines.txt");
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        assertThat(TokenizeCommand.run(new String[] {"--tokenizer", GPT2.toString(), "--inputs", missing.toString()}, new PrintStream(o),
                new PrintStream(e))).isEqualTo(2);
        assertThat(e.toString().strip()).isEqualTo("tokenize: no such file: " + missing);
        assertThat(o.toString()).isEmpty();
        e.reset();
        Path noDir = tmp.resolve("no-such-model");
        assertThat(TokenizeCommand.run(new String[] {"--tokenizer", noDir.toString(), "--inputs", missing.toString()}, new PrintStream(o),
                new PrintStream(e))).isEqualTo(2);
        assertThat(e.toString().strip()).isEqualTo("tokenize: no such file: " + noDir);
        e.reset();
        assertThat(TokenizeCommand.run(new String[] {"--tokenizer", tmp.toString(), "--inputs", missing.toString()}, new PrintStream(o),
                new PrintStream(e))).isEqualTo(2);
        assertThat(e.toString().strip()).startsWith("tokenize: no such file: ");
        assertThat(e.toString().lines()).hasSize(1);
    }

    @Test
    void trainOnBpeIdsThenSampleDecodesWithTheCheckpointsTokenizer(@TempDir Path tmp) throws Exception {
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, "To be, or not to be, that is the question. Ça va? 日本\n".repeat(30));
        Path ck = tmp.resolve("ck");
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        // GPT-2's vocabulary makes the embedding 50257 × C: a tiny C keeps the run fast
        int rc = TrainCommand.run(new String[] {"--corpus", corpus.toString(), "--tokenizer", GPT2.toString(), "--n-embd", "8", "--heads", "2",
                "--layers", "1", "--block", "16", "--batch", "4", "--iters", "2", "--eval-interval", "2", "--eval-iters", "1", "--log-interval", "1",
                "--threads", "2", "--seed", "3", "--out", ck.toString()}, new PrintStream(o), new PrintStream(e), false);
        assertThat(rc).as(e.toString()).isZero();
        assertThat(o.toString()).contains("vocab 50257", "tokenizer BpeTokenizer", "val loss: ");
        for (String f : new String[] {"tokenizer.json", "vocab.json", "merges.txt"}) assertThat(ck.resolve(f)).exists();
        Map<String, Object> tj = Json.asMap(Json.read(ck.resolve("tokenizer.json")), "tokenizer.json");
        assertThat(tj.get("type")).isEqualTo("bpe");
        assertThat(Json.asMap(Json.read(ck.resolve("gpt.json")), "gpt.json").get("vocab_size")).isEqualTo(50257L);
        // the checkpoint is self-contained: its copy of the files gives GPT-2's ids
        Tokenizer back = Tokenizer.ofModel(ck);
        assertThat(back).isInstanceOf(BpeTokenizer.class);
        assertThat(back.encode("The quick brown fox jumps over the lazy dog.")).containsExactly(464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13);

        o.reset();
        rc = TrainCommand.run(new String[] {"--corpus", corpus.toString(), "--iters", "3", "--eval-interval", "0", "--threads", "2", "--resume", ck.toString()},
                new PrintStream(o), new PrintStream(e), false);
        assertThat(rc).as(e.toString()).isZero();
        assertThat(o.toString()).contains("at iteration 2");
        assertThat(Tokenizer.ofModel(ck)).isInstanceOf(BpeTokenizer.class);

        o.reset();
        rc = SampleCommand.run(new String[] {"--checkpoint", ck.toString(), "--prompt", "To be", "--tokens", "12", "--seed", "1"}, new PrintStream(o),
                new PrintStream(e));
        assertThat(rc).as(e.toString()).isZero();
        String text = o.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("To be");
        assertThat(e.toString()).contains("12 tokens");
        e.reset();
        assertThat(TrainCommand.run(new String[] {"--resume", ck.toString(), "--tokenizer", GPT2.toString()}, new PrintStream(o), new PrintStream(e), false))
                .isEqualTo(2);
        assertThat(e.toString()).contains("--tokenizer cannot be combined with --resume");
    }
}
