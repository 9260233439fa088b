package dev.vectorgrad.peft;

import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared fixtures folder ({@code -Dvectorgrad.shared}, else {@code ../shared}; absent → failure) and tolerances. */
final class PeftFixtures {
    private PeftFixtures() {}

    static Path hf(String name) {
        String prop = System.getProperty("vectorgrad.shared");
        Path shared = Path.of(prop != null && !prop.isBlank() ? prop : "../shared");
        Path p = shared.resolve("fixtures/hf").resolve(name);
        if (!Files.isDirectory(p))
            throw new AssertionError("PEFT fixture not found at " + p.toAbsolutePath() + ": set -Dvectorgrad.shared=<dir holding fixtures/hf>");
        return p;
    }

    /** max |a − e| / max |e|. */
    static double relErr(Tensor actual, Tensor expected) {
        float[] a = actual.contiguous().toArray(), e = expected.contiguous().toArray();
        if (a.length != e.length) throw new AssertionError("sizes differ: " + a.length + " vs " + e.length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) return Double.POSITIVE_INFINITY;
            maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - e[i]));
            maxRef = Math.max(maxRef, Math.abs(e[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }
}
