package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.testdata.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * all-MiniLM-L6-v2 against testdata/minilm: the ids Hugging Face's tokenizer gives and the embeddings
 * langchain4j/onnxruntime computes for the same sentences (see that folder's README).
 */
class MiniLmFixtureTest {
    static MiniLm model;
    static List<String> sentences;
    static List<int[]> ids;
    static List<float[]> embeddings;

    @BeforeAll
    static void load() throws IOException {
        model = MiniLm.load();
        sentences = Files.readAllLines(TestData.file("minilm/sentences.txt"), StandardCharsets.UTF_8);
        ids = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.file("minilm/ids.txt")))
            ids.add(Arrays.stream(line.trim().split(" ")).mapToInt(Integer::parseInt).toArray());
        embeddings = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.file("minilm/embeddings.txt"))) {
            String[] f = line.trim().split(" ");
            float[] e = new float[f.length];
            for (int i = 0; i < f.length; i++) e[i] = Float.parseFloat(f[i]);
            embeddings.add(e);
        }
        assertThat(sentences).hasSize(ids.size()).hasSize(embeddings.size());
    }

    @Test
    void idsEqualTheModelsOwnTokenizer() {
        for (int i = 0; i < sentences.size(); i++)
            assertThat(model.tokenize(sentences.get(i))).as("ids of line %d: %s", i + 1, sentences.get(i)).containsExactly(ids.get(i));
    }

    @Test
    void embeddingsMatchOnnxruntimeWithin1e4PerComponent() {
        float[][] mine = model.embed(sentences);
        double worst = 0;
        for (int i = 0; i < sentences.size(); i++) {
            assertThat(mine[i]).hasSize(384);
            for (int j = 0; j < 384; j++) worst = Math.max(worst, Math.abs(mine[i][j] - embeddings.get(i)[j]));
        }
        System.out.println("MiniLM max |component difference| vs onnxruntime over " + sentences.size() + " sentences: " + worst);
        assertThat(worst).isLessThan(1e-4);
    }

    @Test
    void aPaddedBatchGivesWhatEachTextGivesAlone() {
        // One batch of all 16 (lengths 3..20 ids: up to 17 padded positions) against 16 batches of one (no padding).
        float[][] batched = model.withBatch(sentences.size()).embed(sentences);
        double worst = 0;
        for (int i = 0; i < sentences.size(); i++) {
            float[] alone = model.embed(List.of(sentences.get(i)))[0];
            for (int j = 0; j < alone.length; j++) worst = Math.max(worst, Math.abs(alone[j] - batched[i][j]));
        }
        assertThat(worst).isLessThan(1e-6);
    }

    @Test
    void embeddingsHaveUnitLength() {
        for (float[] e : model.embed(sentences.subList(0, 3))) {
            double s = 0;
            for (float v : e) s += v * v;
            assertThat(Math.sqrt(s)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void truncatesAt128IdsByDefaultAndUpTo512OnRequest() {
        String longText = String.join(" ", java.util.Collections.nCopies(100, sentences.get(1))); // over 1,000 word pieces
        int[] full = model.withMaxTokens(512).tokenize(longText), cut = model.tokenize(longText);
        assertThat(full).hasSize(512);
        assertThat(cut).hasSize(128);
        assertThat(Arrays.copyOf(cut, 127)).containsExactly(Arrays.copyOf(full, 127)); // the same prefix, then [SEP]
        assertThat(cut[127]).isEqualTo(102);
        float[] e = model.withMaxTokens(512).embed(List.of(longText))[0]; // positions 128..511 are used
        double n = 0;
        for (float v : e) n += v * v;
        assertThat(Math.sqrt(n)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> model.withMaxTokens(513))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxTokens must be in [2, 512], got 513");
    }
}
