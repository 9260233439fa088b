package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vectorgrad embed}: the file it writes (rows against the onnxruntime fixture) and its errors. */
class EmbedCommandTest {
    @TempDir Path dir;

    @Test
    void writesOneUnitRowPerLineMatchingTheFixture() throws Exception {
        List<String> sentences = Files.readAllLines(TestData.file("minilm/sentences.txt"), StandardCharsets.UTF_8);
        List<String> emb = Files.readAllLines(TestData.file("minilm/embeddings.txt"));
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.safetensors");
        Files.writeString(in, sentences.get(0) + "\n" + sentences.get(7) + "\n" + sentences.get(12) + "\n", StandardCharsets.UTF_8);
        var err = new ByteArrayOutputStream();
        int rc = EmbedCommand.run(new String[] {"--inputs", in.toString(), "--out", out.toString(), "--batch", "2"},
                System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(rc).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Map<String, Tensor> file = Safetensors.readAll(out);
        assertThat(file).containsOnlyKeys("embeddings");
        Tensor e = file.get("embeddings");
        assertThat(e.shape()).containsExactly(3, 384);
        int[] fixtureRow = {0, 7, 12};
        for (int r = 0; r < 3; r++) {
            String[] f = emb.get(fixtureRow[r]).trim().split(" ");
            for (int j = 0; j < 384; j++) assertThat((double) e.get(r, j)).isCloseTo(Float.parseFloat(f[j]), org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void badArgumentsAreOneLineAndExitCode2() {
        assertThat(err("--inputs", dir.resolve("none.txt").toString(), "--out", "x")).startsWith("embed: no such file: ");
        assertThat(err("--inputs", "a")).startsWith("embed: --out is required");
        assertThat(err("--inputs", "a", "--out", "b", "--max-tokens", "600")).startsWith("embed: --max-tokens must be in [1, 512], got 600");
        assertThat(err("--inputs", "a", "--out", "b", "--batch", "x")).startsWith("embed: --batch must be an integer, got 'x'");
        assertThat(err("--frobnicate", "1")).startsWith("embed: unknown argument '--frobnicate'");
    }

    private static String err(String... args) {
        var err = new ByteArrayOutputStream();
        int rc = EmbedCommand.run(args, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(rc).isEqualTo(2);
        return err.toString(StandardCharsets.UTF_8);
    }
}
