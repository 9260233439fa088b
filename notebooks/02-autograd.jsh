// 02-autograd: reverse-mode autodiff, micrograd style, then a tiny MLP trained with AdamW.
// Run it with `./vectorgrad notebook 02-autograd`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.autograd.*;
import dev.vectorgrad.autograd.nn.*;
import dev.vectorgrad.autograd.optim.*;
import java.util.Arrays;

void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }

// --- A small expression graph ------------------------------------------------------------------
// Leaves that require grad are what backward() fills; every op records a node as it runs.
var a = Variable.param(Tensor.scalar(2f)).name("a");
var b = Variable.param(Tensor.scalar(-3f)).name("b");
var c = Variable.param(Tensor.scalar(10f)).name("c");
var e = a.mul(b);                       // e = a*b
var d = e.add(c);                       // d = e + c
var f = Variable.param(Tensor.scalar(-2f)).name("f");
var L = d.mul(f);                       // L = d*f = (a*b + c)*f
System.out.println("L = " + L.item() + "   produced by " + L.gradFn());
check(L.item() == (2f * -3f + 10f) * -2f, "the forward pass computes L = (2·(−3) + 10)·(−2) = −8");

// --- backward(): the chain rule, node by node in reverse topological order --------------------------
// L = (a·b + c)·f, so by hand: dL/da = b·f = 6, dL/db = a·f = −4, dL/dc = f = −2, dL/df = a·b + c = 4.
L.backward();
System.out.println("             autograd   by hand");
System.out.printf("  dL/da   %10.6f %9.1f%n  dL/db   %10.6f %9.1f%n  dL/dc   %10.6f %9.1f%n  dL/df   %10.6f %9.1f%n",
        a.grad().item(), -3f * -2f, b.grad().item(), 2f * -2f, c.grad().item(), -2f, f.grad().item(), 2f * -3f + 10f);
check(a.grad().item() == 6f && b.grad().item() == -4f && c.grad().item() == -2f && f.grad().item() == 4f,
        "backward gives the closed forms b·f, a·f, f and a·b + c exactly");

// --- The same gradient by finite differences --------------------------------------------------------
// Nudge one input by ±h and watch L: (L(x + h) − L(x − h)) / 2h needs no chain rule at all.
double Lof(double av, double bv, double cv, double fv) { return (av * bv + cv) * fv; }
double h = 1e-6;
double[] fd = {
        (Lof(2 + h, -3, 10, -2) - Lof(2 - h, -3, 10, -2)) / (2 * h),
        (Lof(2, -3 + h, 10, -2) - Lof(2, -3 - h, 10, -2)) / (2 * h),
        (Lof(2, -3, 10 + h, -2) - Lof(2, -3, 10 - h, -2)) / (2 * h),
        (Lof(2, -3, 10, -2 + h) - Lof(2, -3, 10, -2 - h)) / (2 * h)};
System.out.printf("finite differences: dL/da ~ %.6f  dL/db ~ %.6f  dL/dc ~ %.6f  dL/df ~ %.6f%n", fd[0], fd[1], fd[2], fd[3]);
float[] ad = {a.grad().item(), b.grad().item(), c.grad().item(), f.grad().item()};
double fdWorst = 0;
for (int i = 0; i < 4; i++) fdWorst = Math.max(fdWorst, Math.abs(fd[i] - ad[i]));
check(fdWorst < 1e-6, "finite differences agree with backward (worst |difference| " + String.format("%.1e", fdWorst) + ")");

// A tanh on top, as micrograd's neuron: dL2/da = (1 - tanh²)·dL/da.
var a2 = Variable.param(Tensor.scalar(0.3f));
var L2 = a2.mul(Variable.scalar(-3f)).add(Variable.scalar(0.5f)).tanh();
L2.backward();
double t = Math.tanh(0.3 * -3 + 0.5);
System.out.printf("tanh(a*(-3) + 0.5): autograd %.6f, by hand %.6f%n", a2.grad().item(), (1 - t * t) * -3);
check(Math.abs(a2.grad().item() - (1 - t * t) * -3) < 1e-6, "d tanh(−3a + 0.5)/da = −3·(1 − tanh²) at a = 0.3");

// GradCheck does this for any op and every input element (here: a row-wise softmax of x weighted by y).
var report = GradCheck.check(in -> in[0].softmax(-1).mul(in[1]).sum(1, false), Tensor.of(new float[] {0.1f, -1f, 2f, 0.5f, 0f, 1f}, 2, 3),
        Tensor.of(new float[] {1f, -2f, 0.5f, 3f, 0.25f, -1f}, 2, 3));
System.out.println("GradCheck: " + report);
check(report.ok(), "softmax's backward matches central differences on every input element");

// --- Gradients accumulate, until zeroGrad ---------------------------------------------------------
var w = Variable.param(Tensor.vector(1f, 2f, 3f));
var x = Variable.of(Tensor.vector(4f, 5f, 6f));
w.mul(x).sum().backward();
w.mul(x).sum().backward();
System.out.println("after two backward calls w.grad = " + w.grad() + "  (2x)");
check(Arrays.equals(w.grad().toArray(), new float[] {8f, 10f, 12f}), "two backward calls of Σ w·x leave w.grad = 2x");
w.zeroGrad();
check(w.grad() == null || Arrays.equals(w.grad().toArray(), new float[3]), "zeroGrad clears it");

// --- No-grad scope: nothing is recorded ----------------------------------------------------------
try (var g = Grad.disabled()) {
    var y = w.mul(x).sum();
    System.out.println("under Grad.disabled(): requiresGrad = " + y.requiresGrad() + ", gradFn = " + y.gradFn());
    check(!y.requiresGrad() && y.gradFn() == null, "no graph is recorded under Grad.disabled()");
}

// --- A tiny MLP on XOR-like data, trained with AdamW ---------------------------------------------------
var rng = new Rng(0);
int n = 200;
float[] pts = new float[n * 2];
int[] lbl = new int[n];
for (int i = 0; i < n; i++) {
    float px = rng.nextFloat() * 2 - 1, py = rng.nextFloat() * 2 - 1;
    pts[2 * i] = px; pts[2 * i + 1] = py;
    lbl[i] = (px * py > 0) ? 1 : 0;     // quadrants: XOR of the signs
}
var X = Variable.of(Tensor.wrap(pts, n, 2));
var Y = IntTensor.of(lbl, n);
var mlp = new Sequential(new Linear(2, 32, true, rng), new GELU(), new Linear(32, 32, true, rng), new GELU(), new Linear(32, 2, true, rng));
System.out.println(mlp);
System.out.println("parameters: " + mlp.namedParameters().keySet());
var opt = new AdamW(mlp.parameters(), 0.01, 0.0);
double accuracy(Variable logits, int[] labels) {
    int[] p = logits.data().argmax(1, false).storage();
    int ok = 0;
    for (int i = 0; i < labels.length; i++) if (p[i] == labels[i]) ok++;
    return ok / (double) labels.length;
}
double firstLoss = Double.NaN;
for (int step = 0; step <= 400; step++) {
    opt.zeroGrad();
    var logits = mlp.forward(X);
    var loss = F.crossEntropy(logits, Y);
    loss.backward();
    opt.step();
    if (step == 0) firstLoss = loss.item();
    if (step % 100 == 0) System.out.printf("step %3d  loss %.4f  accuracy %.3f%n", step, loss.item(), accuracy(logits, lbl));
}
// Two classes and a fresh network: about even odds, so the first loss is about ln 2.
check(Math.abs(firstLoss - Math.log(2)) < 0.05, String.format("the untrained MLP's loss %.4f is about ln 2 = %.4f", firstLoss, Math.log(2)));
Variable finalLogits;
try (var g = Grad.disabled()) { finalLogits = mlp.forward(X); }
double finalAcc = accuracy(finalLogits, lbl);
System.out.printf("final training accuracy: %.3f%n", finalAcc);
check(finalAcc >= 0.98, "AdamW fits the XOR quadrants (training accuracy at least 98%)");
