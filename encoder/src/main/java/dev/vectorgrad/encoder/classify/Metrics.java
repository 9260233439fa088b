package dev.vectorgrad.encoder.classify;

/** Accuracy and the F1 score of the positive class (spam) of a binary classifier on one split. */
public record Metrics(int n, int truePos, int falsePos, int falseNeg, int trueNeg) {
    /** Counts from predictions and labels (equal lengths). */
    public static Metrics of(boolean[] predicted, boolean[] actual) {
        if (predicted.length != actual.length)
            throw new IllegalArgumentException("Metrics: " + predicted.length + " predictions for " + actual.length + " labels");
        int tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < actual.length; i++) {
            if (predicted[i] && actual[i]) tp++;
            else if (predicted[i]) fp++;
            else if (actual[i]) fn++;
            else tn++;
        }
        return new Metrics(actual.length, tp, fp, fn, tn);
    }

    public double accuracy() {
        return n == 0 ? Double.NaN : (double) (truePos + trueNeg) / n;
    }

    /** 2·TP / (2·TP + FP + FN); 0 when there is no positive in either. */
    public double f1() {
        int d = 2 * truePos + falsePos + falseNeg;
        return d == 0 ? 0 : 2.0 * truePos / d;
    }
}
