// 04-lora-vera: LoRA's ΔW = B·A against VeRA's ΔW = Λ_b·B·Λ_d·A on one layer, parameter counts, VeRA's
// projections regenerated from the seed, merging, and a short fine-tune.
// Run it with `./vectorgrad notebook 04-lora-vera`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.autograd.*;
import dev.vectorgrad.autograd.nn.*;
import dev.vectorgrad.autograd.optim.*;
import dev.vectorgrad.peft.*;
import dev.vectorgrad.autograd.nn.Module;

// --- A small model: up (16 → 32), tanh, down (32 → 8) -------------------------------------------------
class Net extends Module {
    final Linear up, down;
    Net(long seed) {
        Rng r = new Rng(seed);
        up = registerModule("up", new Linear(16, 32, true, r));
        down = registerModule("down", new Linear(32, 8, true, r));
    }
    @Override public Variable forward(Variable x) { return down.forward(up.forward(x).tanh()); }
}
double maxDiff(Tensor a, Tensor b) {
    float[] x = a.contiguous().toArray(), y = b.contiguous().toArray();
    if (x.length != y.length) throw new AssertionError("sizes differ: " + x.length + " vs " + y.length);
    double m = 0;
    for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
    return m;
}
void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }
Tensor randn(Rng r, double std, int... shape) { Tensor t = Tensor.zeros(shape); Init.normal(t, r, 0, std); return t; }
Tensor x = randn(new Rng(5), 1, 4, 16);
Tensor run(Module m) { try (var g = Grad.disabled()) { return m.forward(Variable.of(x)).data(); } }

// --- LoRA on `up`: ΔW = (α/r)·B·A, B starts at zero so the wrapped model starts as the base ---------------
var lnet = new Net(1);
Tensor y0 = run(lnet);
var lora = PeftModel.wrap(lnet, PeftConfig.lora(4, 8, "up").seed(3));
var lup = (LoraLinear) lora.adaptedLayers().get("up");
check(maxDiff(run(lnet), y0) == 0, "LoRA with B = 0 leaves the output unchanged");
Init.normal(lup.b("default").data(), new Rng(9), 0, 0.1);           // pretend B has been trained
Tensor dwLora = lup.b("default").data().matmul(lup.a("default").data()).mul(lup.scaling("default"));
System.out.printf("LoRA: A %s, B %s, scaling α/r = %.1f%n", java.util.Arrays.toString(lup.a("default").data().shape()),
        java.util.Arrays.toString(lup.b("default").data().shape()), lup.scaling("default"));
check(maxDiff(dwLora, lup.deltaWeight("default")) < 1e-6, "LoRA deltaWeight = (α/r)·B·A");

// --- VeRA on `up` and `down`: frozen shared A (r × max in), B (max out × r) from a key; λ_d, λ_b train ---------
var vnet = new Net(1);
var vera = PeftModel.wrap(vnet, PeftConfig.vera(8, 42, "up", "down"));
var vup = (VeraLinear) vera.adaptedLayers().get("up");
Init.normal(vup.lambdaB("default").data(), new Rng(11), 0, 0.5);     // pretend λ_b has been trained (it starts at 0)
var proj = vera.projections("default");
System.out.printf("VeRA: shared A %s, B %s (maxima over the adapted layers), λ_d %s, λ_b %s%n",
        java.util.Arrays.toString(proj.a().shape()), java.util.Arrays.toString(proj.b().shape()),
        java.util.Arrays.toString(vup.lambdaD("default").data().shape()), java.util.Arrays.toString(vup.lambdaB("default").data().shape()));
// Λ_b B Λ_d A by hand: scale B's rows by λ_b and A's rows by λ_d, on the slices this layer uses (A[:, :16], B[:32, :]).
Tensor bS = proj.b().narrow(0, 0, 32).mul(vup.lambdaB("default").data().reshape(32, 1));
Tensor aS = proj.a().narrow(1, 0, 16).mul(vup.lambdaD("default").data().reshape(8, 1));
Tensor dwVera = bS.matmul(aS);
check(maxDiff(dwVera, vup.deltaWeight("default")) < 1e-6, "VeRA deltaWeight = Λ_b·B·Λ_d·A");
// The adapter's effect on the layer's output is x·ΔWᵀ.
Tensor hx;
try (var g = Grad.disabled()) { hx = vup.forward(Variable.of(x)).data().sub(F.linear(Variable.of(x), vup.linear().weight, vup.linear().bias).data()); }
check(maxDiff(hx, x.matmul(dwVera.t())) < 1e-5, "VeRA layer output − base output = x·ΔWᵀ");

// --- Parameter counts: by formula and by the module ------------------------------------------------------
long loraFormula = 4L * (16 + 32);                       // r·(in + out) for `up`
long veraFormula = (32 + 8) + (8 + 8);                   // Σ (out + r) over `up` and `down`
System.out.printf("LoRA r=4 on up: formula %d, module %d | VeRA r=8 on up+down: formula %d, module %d (of %d)%n",
        loraFormula, lora.trainableParameters(), veraFormula, vera.trainableParameters(), vera.totalParameters());
check(lora.trainableParameters() == loraFormula, "LoRA count = r·(in + out)");
check(vera.trainableParameters() == veraFormula, "VeRA count = Σ(out + r)");
System.out.println(vera.summary());

// --- VeRA's A and B from the key alone, bit for bit (PyTorch's MT19937 stream, as PEFT draws them) --------
var again = VeraProjections.fromKey(42, 8, proj.maxIn(), proj.maxOut());
boolean same(Tensor a, Tensor b) {
    float[] p = a.contiguous().toArray(), q = b.contiguous().toArray();
    if (p.length != q.length) return false;
    for (int i = 0; i < p.length; i++) if (Float.floatToRawIntBits(p[i]) != Float.floatToRawIntBits(q[i])) return false;
    return true;
}
check(same(again.a(), proj.a()) && same(again.b(), proj.b()), "A and B regenerated from key 42 are bit-identical");
check(!same(VeraProjections.fromKey(43, 8, proj.maxIn(), proj.maxOut()).a(), proj.a()), "another key gives other matrices");

// --- Merging: fold ΔW into W₀, same outputs, then unmerge -------------------------------------------------
Tensor yAdapted = run(vnet);
Tensor w0 = vup.linear().weight.data().copy();
vera.merge();
Tensor yMerged = run(vnet);
System.out.printf("merged vs adapter forward: max |Δ| = %.2e%n", maxDiff(yMerged, yAdapted));
check(maxDiff(yMerged, yAdapted) < 1e-5, "merged output = adapter output");
vera.unmerge();
check(maxDiff(vup.linear().weight.data(), w0) < 1e-6, "unmerge restores W₀");

// --- A short fine-tune: VeRA's λs learn to move the model toward a teacher ---------------------------------
var student = new Net(1);
var teacher = new Net(2);
Tensor xs = randn(new Rng(21), 1, 64, 16);
Tensor ys;
try (var g = Grad.disabled()) { ys = teacher.forward(Variable.of(xs)).data(); }
var ft = PeftModel.wrap(student, PeftConfig.vera(16, 7, "up", "down"));
var opt = new AdamW(student.parameters().stream().filter(Variable::requiresGrad).toList(), 3e-2, 0.0);
double first = 0, last = 0;
for (int s = 0; s <= 150; s++) {
    opt.zeroGrad();
    var l = F.mseLoss(student.forward(Variable.of(xs)), Variable.of(ys));
    l.backward();
    opt.step();
    if (s == 0) first = l.item();
    last = l.item();
    if (s % 50 == 0) System.out.printf("step %3d  mse %.5f%n", s, l.item());
}
System.out.println(ft.summary());
check(last < 0.8 * first, "fine-tuning only VeRA's λ vectors lowers the loss");
