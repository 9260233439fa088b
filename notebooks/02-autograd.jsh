// 02-autograd: reverse-mode autodiff, micrograd style, then a tiny MLP trained with AdamW.
// Run it with `./vectorgrad notebook 02-autograd`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.autograd.*;
import dev.vectorgrad.autograd.nn.*;
import dev.vectorgrad.autograd.optim.*;

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

// --- backward(): the chain rule, node by node in reverse topological order --------------------------
L.backward();
System.out.printf("dL/da = %.6f  dL/db = %.6f  dL/dc = %.6f  dL/df = %.6f%n",
        a.grad().item(), b.grad().item(), c.grad().item(), f.grad().item());

// --- The same gradient by finite differences --------------------------------------------------------
double Lof(double av, double bv, double cv, double fv) { return (av * bv + cv) * fv; }
double h = 1e-6;
System.out.printf("finite differences: dL/da ~ %.6f  dL/db ~ %.6f  dL/dc ~ %.6f  dL/df ~ %.6f%n",
        (Lof(2 + h, -3, 10, -2) - Lof(2 - h, -3, 10, -2)) / (2 * h),
        (Lof(2, -3 + h, 10, -2) - Lof(2, -3 - h, 10, -2)) / (2 * h),
        (Lof(2, -3, 10 + h, -2) - Lof(2, -3, 10 - h, -2)) / (2 * h),
        (Lof(2, -3, 10, -2 + h) - Lof(2, -3, 10, -2 - h)) / (2 * h));

// A tanh on top, as micrograd's neuron: dL2/da = (1 - tanh²)·dL/da.
var a2 = Variable.param(Tensor.scalar(0.3f));
var L2 = a2.mul(Variable.scalar(-3f)).add(Variable.scalar(0.5f)).tanh();
L2.backward();
double t = Math.tanh(0.3 * -3 + 0.5);
System.out.printf("tanh(a*(-3) + 0.5): autograd %.6f, by hand %.6f%n", a2.grad().item(), (1 - t * t) * -3);

// GradCheck does this for any op and every input element (here: a row-wise softmax weighted by x).
var report = GradCheck.check(in -> in[0].softmax(-1).mul(in[1]).sum(1, false), Tensor.of(new float[] {0.1f, -1f, 2f, 0.5f, 0f, 1f}, 2, 3), Tensor.ones(2, 3).mul(0.5f));
System.out.println("GradCheck: " + report);

// --- Gradients accumulate, until zeroGrad ---------------------------------------------------------
var w = Variable.param(Tensor.vector(1f, 2f, 3f));
var x = Variable.of(Tensor.vector(4f, 5f, 6f));
w.mul(x).sum().backward();
w.mul(x).sum().backward();
System.out.println("after two backward calls w.grad = " + w.grad() + "  (2x)");
w.zeroGrad();

// --- No-grad scope: nothing is recorded ----------------------------------------------------------
try (var g = Grad.disabled()) {
    var y = w.mul(x).sum();
    System.out.println("under Grad.disabled(): requiresGrad = " + y.requiresGrad() + ", gradFn = " + y.gradFn());
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
for (int step = 0; step <= 400; step++) {
    opt.zeroGrad();
    var logits = mlp.forward(X);
    var loss = F.crossEntropy(logits, Y);
    loss.backward();
    opt.step();
    if (step % 100 == 0) System.out.printf("step %3d  loss %.4f  accuracy %.3f%n", step, loss.item(), accuracy(logits, lbl));
}
Variable finalLogits;
try (var g = Grad.disabled()) { finalLogits = mlp.forward(X); }
System.out.printf("final training accuracy: %.3f%n", accuracy(finalLogits, lbl));
