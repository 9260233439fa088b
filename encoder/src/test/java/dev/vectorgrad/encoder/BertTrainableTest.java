package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The encoder is an ordinary autograd module: PEFT finds its query/value projections by Hugging Face's names,
 * and a loss on the pooled embedding sends gradients to the adapters and not to the frozen base.
 */
class BertTrainableTest {
    static final Bert.Config TINY = new Bert.Config(40, 16, 2, 4, 32, 12, 2, 1e-12f);

    @Test
    void loraOnQueryAndValueTrainsThroughThePooledEmbedding() {
        Bert bert = new Bert(TINY);
        PeftModel peft = PeftModel.wrap(bert, PeftConfig.lora(2, 4, "query", "value").seed(7));
        assertThat(peft.adaptedLayers().keySet()).containsExactly("encoder.layer.0.attention.self.query",
                "encoder.layer.0.attention.self.value", "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value");
        MiniLm.Batch b = MiniLm.pad(List.of(new int[] {2, 5, 9, 3}, new int[] {2, 7, 3}), 0);
        Variable pooled = Bert.meanPoolNormalize(bert.forward(b.ids(), b.mask()), b.mask());
        assertThat(pooled.shape()).containsExactly(2, 16);
        // loss = Σ pooled ⊙ w for a fixed w: its gradient reaches every LoRA B (A's is 0 while B = 0, as in PEFT).
        float[] w = new float[32];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(i + 1);
        pooled.mul(Tensor.of(w, 2, 16)).sum().backward();
        bert.namedParameters().forEach((name, p) -> {
            if (name.contains("lora_B")) {
                assertThat(p.grad()).as(name).isNotNull();
                assertThat(p.grad().abs().sum().item()).as(name).isGreaterThan(0f);
            } else if (!name.contains("lora_")) {
                assertThat(p.requiresGrad()).as(name + " frozen").isFalse();
                assertThat(p.grad()).as(name).isNull();
            }
        });
    }

    @Test
    void paddingDoesNotChangeARowsGradient() {
        // The key-padding mask must also cut padded positions out of backward: the gradient of one text's loss
        // with respect to the word embeddings is the same alone and next to a longer text.
        float[] alone = wordEmbeddingGrad(List.of(new int[] {2, 5, 3}));
        float[] padded = wordEmbeddingGrad(List.of(new int[] {2, 5, 3}, new int[] {2, 8, 9, 10, 11, 3}));
        double worst = 0;
        for (int i = 0; i < alone.length; i++) worst = Math.max(worst, Math.abs(alone[i] - padded[i]));
        assertThat(worst).isLessThan(1e-6);
    }

    /** d(first row of the pooled embedding · w)/d(word embeddings) on a fresh tiny model (same init each time). */
    private static float[] wordEmbeddingGrad(List<int[]> ids) {
        Bert bert = new Bert(TINY);
        MiniLm.Batch b = MiniLm.pad(ids, 0);
        Variable pooled = Bert.meanPoolNormalize(bert.forward(b.ids(), b.mask()), b.mask());
        float[] w = new float[ids.size() * 16];
        for (int i = 0; i < 16; i++) w[i] = (float) Math.cos(i); // only row 0 counts
        pooled.mul(Tensor.of(w, ids.size(), 16)).sum().backward();
        return bert.embeddings.wordEmbeddings.weight.grad().contiguous().toArray();
    }
}
