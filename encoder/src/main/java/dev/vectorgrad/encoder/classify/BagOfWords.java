package dev.vectorgrad.encoder.classify;

import java.util.Arrays;
import java.util.List;

/**
 * The non-neural baseline of {@code demo classify}: logistic regression on a binary bag of word pieces (feature j is
 * 1 when piece id j occurs in the input), trained by full-batch gradient descent with Adam on the mean log loss plus
 * {@code l2}·|w|²/2 (the bias is not decayed). Deterministic: weights start at zero and there is no sampling.
 */
public final class BagOfWords {
    private final float[] w;
    private float b;

    private BagOfWords(int features) {
        this.w = new float[features];
    }

    /** Trains on {@code docs} (piece ids, repeats count once) with labels {@code y}, ids in [0, features). */
    public static BagOfWords fit(List<int[]> docs, boolean[] y, int features, double l2, int epochs, double lr) {
        if (docs.size() != y.length) throw new IllegalArgumentException("BagOfWords: " + docs.size() + " documents for " + y.length + " labels");
        int[][] x = new int[docs.size()][];
        for (int i = 0; i < x.length; i++) x[i] = distinct(docs.get(i), features);
        BagOfWords m = new BagOfWords(features);
        double[] mw = new double[features], vw = new double[features], g = new double[features];
        double mb = 0, vb = 0;
        double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        int n = x.length;
        for (int t = 1; t <= epochs; t++) {
            Arrays.fill(g, 0);
            double gb = 0;
            for (int i = 0; i < n; i++) {
                double err = sigmoid(m.logit(x[i])) - (y[i] ? 1 : 0); // d(log loss)/d(logit)
                for (int j : x[i]) g[j] += err;
                gb += err;
            }
            double c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
            for (int j = 0; j < features; j++) {
                double gj = g[j] / n + l2 * m.w[j];
                mw[j] = beta1 * mw[j] + (1 - beta1) * gj;
                vw[j] = beta2 * vw[j] + (1 - beta2) * gj * gj;
                m.w[j] -= (float) (lr * (mw[j] / c1) / (Math.sqrt(vw[j] / c2) + eps));
            }
            gb /= n;
            mb = beta1 * mb + (1 - beta1) * gb;
            vb = beta2 * vb + (1 - beta2) * gb * gb;
            m.b -= (float) (lr * (mb / c1) / (Math.sqrt(vb / c2) + eps));
        }
        return m;
    }

    /** The spam probability of one document. */
    public double probability(int[] doc) {
        return sigmoid(logit(distinct(doc, w.length)));
    }

    /** Spam (probability ≥ 0.5) or not, per document. */
    public boolean[] predict(List<int[]> docs) {
        boolean[] p = new boolean[docs.size()];
        for (int i = 0; i < p.length; i++) p[i] = probability(docs.get(i)) >= 0.5;
        return p;
    }

    private double logit(int[] distinct) {
        double z = b;
        for (int j : distinct) z += w[j];
        return z;
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    private static int[] distinct(int[] doc, int features) {
        int[] d = doc.clone();
        Arrays.sort(d);
        int k = 0;
        for (int i = 0; i < d.length; i++) {
            if (d[i] < 0 || d[i] >= features)
                throw new IllegalArgumentException("BagOfWords: piece id " + d[i] + " outside [0, " + features + ")");
            if (k == 0 || d[k - 1] != d[i]) d[k++] = d[i];
        }
        return Arrays.copyOf(d, k);
    }
}
