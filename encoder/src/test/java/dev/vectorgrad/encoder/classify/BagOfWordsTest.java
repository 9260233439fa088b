package dev.vectorgrad.encoder.classify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The baseline against closed forms, and the metrics against counts by hand. */
class BagOfWordsTest {
    @Test
    void oneFeatureConvergesToTheEmpiricalRates() {
        // Unregularised logistic regression with one binary feature x and a bias is saturated: its maximum-likelihood
        // fit predicts P(spam | x) = the share of spam among the documents with that x. Here: x = 1 in 10 documents,
        // 8 spam; x = 0 in 20, 5 spam. So p(x=1) = 0.8 and p(x=0) = 0.25. Repeated ids count once.
        List<int[]> docs = new ArrayList<>();
        List<Boolean> y = new ArrayList<>();
        for (int i = 0; i < 10; i++) { docs.add(new int[] {1, 1}); y.add(i < 8); }
        for (int i = 0; i < 20; i++) { docs.add(new int[] {}); y.add(i < 5); }
        boolean[] labels = new boolean[y.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = y.get(i);
        BagOfWords m = BagOfWords.fit(docs, labels, 3, 0, 3000, 0.05);
        assertThat(m.probability(new int[] {1})).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(m.probability(new int[] {})).isCloseTo(0.25, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(m.probability(new int[] {2})).as("a feature never seen keeps weight 0").isCloseTo(0.25, org.assertj.core.data.Offset.offset(1e-3));
        assertThatThrownBy(() -> m.probability(new int[] {3})).hasMessageContaining("piece id 3 outside [0, 3)");
    }

    @Test
    void metricsCountByHand() {
        boolean[] predicted = {true, true, false, false, true, false};
        boolean[] actual = {true, false, true, false, true, false};
        Metrics m = Metrics.of(predicted, actual); // TP 2, FP 1, FN 1, TN 2
        assertThat(m.accuracy()).isEqualTo(4.0 / 6);
        assertThat(m.f1()).isEqualTo(2.0 * 2 / (2 * 2 + 1 + 1));
        assertThat(Metrics.of(new boolean[] {false}, new boolean[] {false}).f1()).isZero();
    }
}
