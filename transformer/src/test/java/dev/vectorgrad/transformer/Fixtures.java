package dev.vectorgrad.transformer;

import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared fixtures folder and tolerance helpers for the transformer tests. */
final class Fixtures {
    private Fixtures() {}

    /** {@code -Dvectorgrad.shared} (Surefire sets {@code <root>/../shared}), else {@code ../shared}; fails if absent. */
    static Path shared() {
        String prop = System.getProperty("vectorgrad.shared");
        Path p = Path.of(prop != null && !prop.isBlank() ? prop : "../shared");
        if (!Files.isDirectory(p))
            throw new AssertionError("shared fixtures folder not found at " + p.toAbsolutePath()
                    + ": set -Dvectorgrad.shared=<dir> (the folder holding fixtures/hf/gpt2-small-base)");
        return p;
    }

    static Path hf(String name) {
        Path p = shared().resolve("fixtures/hf").resolve(name);
        if (!Files.isDirectory(p)) throw new AssertionError("fixture " + p.toAbsolutePath() + " is missing");
        return p;
    }

    /** max |a − e| / max |e| (the error relative to the reference's scale). */
    static double relErr(Tensor actual, Tensor expected) {
        float[] a = actual.toArray(), e = expected.toArray();
        if (a.length != e.length) throw new AssertionError("sizes differ: " + a.length + " vs " + e.length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - e[i]));
            maxRef = Math.max(maxRef, Math.abs(e[i]));
        }
        if (Double.isNaN(maxDiff) || hasNaN(a)) return Double.POSITIVE_INFINITY;
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    private static boolean hasNaN(float[] a) {
        for (float v : a) if (Float.isNaN(v)) return true;
        return false;
    }
}
