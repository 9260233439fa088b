// 01-tensors: a walk through vectorgrad's tensor-core.
// Run it with `./vectorgrad notebook 01-tensors`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;

// --- Creating tensors ------------------------------------------------------------------------
var a = Tensor.arange(12).reshape(3, 4);
System.out.println("a = " + a);
System.out.println("shape " + java.util.Arrays.toString(a.shape()) + ", strides " + java.util.Arrays.toString(a.strides()));

// --- Views share storage: transpose, narrow, expand never copy --------------------------------
var at = a.transpose(0, 1);              // 4x3, strides swapped
System.out.println("a^T = " + at + "  contiguous? " + at.isContiguous());
var col = a.narrow(1, 1, 2);             // columns 1..2
System.out.println("a[:, 1:3] = " + col);
a.set(100f, 0, 1);                       // writing through a shows in its views
System.out.println("after a[0,1] = 100: a^T[1,0] = " + at.get(1, 0) + ", view[0,0] = " + col.get(0, 0));

// --- Broadcasting: [3,4] + [4] and [3,1] * [1,4] ----------------------------------------------
var row = Tensor.vector(1f, 2f, 3f, 4f);
System.out.println("a + row = " + a.add(row));
var outer = Tensor.vector(1f, 2f, 3f).reshape(3, 1).mul(row.reshape(1, 4));
System.out.println("outer product by broadcasting = " + outer);

// --- Reductions, softmax, layer norm -----------------------------------------------------------
System.out.println("sum over rows = " + a.sum(0, false) + ", mean of all = " + a.mean().item());
System.out.println("softmax(row) = " + row.softmax(0));
var ln = a.layerNorm(null, null, 1e-5f);
System.out.println("layer norm rows have mean ~0: " + ln.mean(1, false));

// --- Matmul: the engine against a naive triple loop -------------------------------------------
var rng = new Rng(42);
int n = 256;
var x = Init.uniform(Tensor.zeros(n, n), rng, -1, 1);
var y = Init.uniform(Tensor.zeros(n, n), rng, -1, 1);

float[] naive(float[] p, float[] q, int size) {
    float[] r = new float[size * size];
    for (int i = 0; i < size; i++)
        for (int j = 0; j < size; j++) {
            float s = 0;
            for (int k = 0; k < size; k++) s += p[i * size + k] * q[k * size + j];
            r[i * size + j] = s;
        }
    return r;
}

double gflops(long nanos, int size) { return 2.0 * size * size * size / nanos; }

float[] xs = x.toArray(), ys = y.toArray();
naive(xs, ys, n); x.matmul(y);           // warm up both
long t0 = System.nanoTime(); float[] slow = naive(xs, ys, n); long tNaive = System.nanoTime() - t0;
long best = Long.MAX_VALUE; Tensor fast = null;
for (int i = 0; i < 20; i++) { long t = System.nanoTime(); fast = x.matmul(y); best = Math.min(best, System.nanoTime() - t); }
double maxDiff = 0;
float[] fa = fast.toArray();
for (int i = 0; i < fa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa[i] - slow[i]));
System.out.printf("naive triple loop: %.2f GFLOP/s%n", gflops(tNaive, n));
System.out.printf("vectorgrad matmul: %.2f GFLOP/s (%d threads), max |difference| %.2e%n", gflops(best, n), Parallel.threads(), maxDiff);
if (maxDiff > 1e-3) throw new AssertionError("matmul disagrees with the naive loop: " + maxDiff);
