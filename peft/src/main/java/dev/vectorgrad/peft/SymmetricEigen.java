package dev.vectorgrad.peft;

/**
 * The eigen-decomposition M = V·diag(λ)·Vᵀ of a small symmetric matrix (row-major, r × r, in double) by cyclic
 * Jacobi rotations, for the r × r systems of LoRA-FA and LoRA-Pro. {@code vectors} holds the eigenvectors as
 * columns; the values are in no particular order.
 */
record SymmetricEigen(double[] values, double[] vectors, int r) {
    /** Decomposes {@code m} (not modified); throws if 100 sweeps do not bring the off-diagonal to round-off. */
    static SymmetricEigen of(double[] m, int r) {
        if (m.length != r * r) throw new IllegalArgumentException("symmetric eigen: " + m.length + " values for a " + r + " × " + r + " matrix");
        double[] a = m.clone(), v = new double[r * r];
        for (int i = 0; i < r; i++) v[i * r + i] = 1;
        boolean converged = false;
        for (int sweep = 0; sweep < 100 && !converged; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < r; i++)
                for (int j = 0; j < r; j++) {
                    if (i == j) diag += a[i * r + i] * a[i * r + i];
                    else off += a[i * r + j] * a[i * r + j];
                }
            if (off <= 1e-30 * diag || off == 0) {
                converged = true;
                break;
            }
            for (int p = 0; p < r - 1; p++)
                for (int q = p + 1; q < r; q++) {
                    double apq = a[p * r + q];
                    if (apq == 0) continue;
                    // the rotation (c, s) that zeroes a[p][q]: A ← JᵀAJ, V ← VJ
                    double theta = (a[q * r + q] - a[p * r + p]) / (2 * apq);
                    double t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < r; k++) {
                        double x = a[k * r + p], y = a[k * r + q];
                        a[k * r + p] = c * x - s * y;
                        a[k * r + q] = s * x + c * y;
                    }
                    for (int k = 0; k < r; k++) {
                        double x = a[p * r + k], y = a[q * r + k];
                        a[p * r + k] = c * x - s * y;
                        a[q * r + k] = s * x + c * y;
                    }
                    for (int k = 0; k < r; k++) {
                        double x = v[k * r + p], y = v[k * r + q];
                        v[k * r + p] = c * x - s * y;
                        v[k * r + q] = s * x + c * y;
                    }
                }
        }
        if (!converged) {
            double off = 0;
            for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) if (i != j) off += a[i * r + j] * a[i * r + j];
            if (!(off <= 1e-24 * Math.max(1e-300, frob2(a, r)))) throw new IllegalStateException("symmetric eigen: Jacobi did not converge in 100 sweeps (r = " + r + ")");
        }
        double[] l = new double[r];
        for (int i = 0; i < r; i++) l[i] = a[i * r + i];
        return new SymmetricEigen(l, v, r);
    }

    private static double frob2(double[] a, int r) {
        double s = 0;
        for (double x : a) s += x * x;
        return s;
    }

    /** The pseudo-inverse V·diag(1/λ)·Vᵀ, with 1/λ taken as 0 where |λ| ≤ rtol·max|λ|. */
    double[] pinv(double rtol) {
        double max = 0;
        for (double l : values) max = Math.max(max, Math.abs(l));
        double[] out = new double[r * r];
        for (int k = 0; k < r; k++) {
            double l = values[k];
            if (Math.abs(l) <= rtol * max || l == 0) continue;
            for (int i = 0; i < r; i++)
                for (int j = 0; j < r; j++) out[i * r + j] += vectors[i * r + k] * vectors[j * r + k] / l;
        }
        return out;
    }
}
