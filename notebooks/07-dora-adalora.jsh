// 07-dora-adalora: what DoRA and AdaLoRA do to a model after a short training, layer by layer — DoRA's split of
// each weight row into a magnitude and a direction, and the ranks AdaLoRA's allocator left to each layer.
// Run it with `./vectorgrad notebook 07-dora-adalora`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.autograd.*;
import dev.vectorgrad.autograd.optim.*;
import dev.vectorgrad.peft.*;
import dev.vectorgrad.transformer.*;
import java.util.*;

void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }
double[] rowNorms(Tensor w) {   // ‖w_o‖ for each row of w [out, in], in double
    float[] v = w.contiguous().toArray();
    int out = w.shape()[0], in = w.shape()[1];
    double[] n = new double[out];
    for (int o = 0; o < out; o++) { double s = 0; for (int c = 0; c < in; c++) s += (double) v[o * in + c] * v[o * in + c]; n[o] = Math.sqrt(s); }
    return n;
}
double[] rowCosines(Tensor p, Tensor q) {   // cos(p_o, q_o) for each row, in double
    float[] a = p.contiguous().toArray(), b = q.contiguous().toArray();
    int out = p.shape()[0], in = p.shape()[1];
    double[] c = new double[out];
    for (int o = 0; o < out; o++) {
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < in; k++) { double x = a[o * in + k], y = b[o * in + k]; ab += x * y; aa += x * x; bb += y * y; }
        c[o] = ab / Math.sqrt(aa * bb);
    }
    return c;
}
double mean(double[] v) { double s = 0; for (double x : v) s += x; return s / v.length; }

// --- The setting: a tiny GPT and a task it does not know -----------------------------------------------------
System.out.println("Why: both methods only show their character once trained, so we adapt a small random GPT (3 blocks, n_embd 32)");
System.out.println("to a fixed token mapping y = (5x + 2) mod 16 for a few dozen steps, the same batches for both methods.");
var cfg = new GptConfig(16, 16, 3, 2, 32, 0.0, true, GptConfig.Activation.GELU, 1e-5);
var base = new Gpt(cfg, 11).stateDict();
List<IntTensor[]> batches = new ArrayList<>();
Rng data = new Rng(7);
for (int k = 0; k < 8; k++) {
    int[] x = new int[4 * 16], y = new int[4 * 16];
    for (int i = 0; i < x.length; i++) { x[i] = data.nextInt(16); y[i] = (5 * x[i] + 2) % 16; }
    batches.add(new IntTensor[] {IntTensor.wrap(x, 4, 16), IntTensor.wrap(y, 4, 16)});
}
Gpt fresh() { var g = new Gpt(cfg, 11); g.loadStateDict(base, true); return g; }
double lossOf(Gpt g) { try (var s = Grad.disabled()) { double l = 0; for (var b : batches) l += g.loss(b[0], b[1]).item(); return l / batches.size(); } }
String[] layerPaths = new String[cfg.layers() * 2];
for (int i = 0; i < cfg.layers(); i++) { layerPaths[2 * i] = "transformer.h." + i + ".attn.c_attn"; layerPaths[2 * i + 1] = "transformer.h." + i + ".mlp.c_fc"; }

// --- DoRA: W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖_row -----------------------------------------------------------
System.out.println();
System.out.println("Why: DoRA (Liu et al. 2024) writes each output row of the adapted weight as a length m_o (trained directly)");
System.out.println("times a unit direction (W + s·B·A)_o / ‖·‖ that LoRA's B·A turns. At the start m = ‖W‖_row, so nothing changes.");
var dnet = fresh();
var dora = PeftModel.wrap(dnet, PeftConfig.lora(4, 8, "c_attn", "c_fc").dora(true).seed(3));
Map<String, Tensor> w0 = new LinkedHashMap<>();
boolean startsAtRowNorms = true;
for (String p : layerPaths) {
    var l = (DoraLinear) dora.adaptedLayers().get(p);
    w0.put(p, l.linear().weight.data().copy());
    double[] n = rowNorms(l.linear().weight.data());
    float[] mv = l.magnitude("default").data().toArray();
    for (int o = 0; o < n.length; o++) startsAtRowNorms &= Math.abs(mv[o] - n[o]) <= 1e-5 * n[o];
}
check(startsAtRowNorms, "every magnitude starts at the row norms of W (B = 0)");
double before = lossOf(dnet);
var dopt = new AdamW(dnet.parameters().stream().filter(Variable::requiresGrad).toList(), 3e-3, 0.0);
for (int s = 0; s < 40; s++) {
    var b = batches.get(s % batches.size());
    dopt.zeroGrad();
    dnet.loss(b[0], b[1]).backward();
    dopt.step();
}
double after = lossOf(dnet);
System.out.printf("DoRA r=4 on c_attn and c_fc, 40 AdamW steps: loss %.3f → %.3f%n", before, after);
check(after < before - 0.1, "the DoRA adapter learned part of the mapping");

System.out.println();
System.out.println("Why: the paper's Fig. 2 compares how much each method changes lengths (ΔM) and directions (ΔD); per layer we take");
System.out.println("ΔM = mean_o |m_o − ‖W_o‖| / ‖W_o‖ and ΔD = mean_o (1 − cos(W'_o, W_o)), W' being the merged weight.");
dora.merge();
System.out.println("| layer | rows | ΔM (relative length change) | ΔD (1 − cos) | corr(ΔM_o, ΔD_o) over rows |");
System.out.println("|---|---:|---:|---:|---:|");
boolean mergedRowsHaveLengthM = true;
for (String p : layerPaths) {
    var l = (DoraLinear) dora.adaptedLayers().get(p);
    Tensor merged = l.linear().weight.data();
    double[] n0 = rowNorms(w0.get(p)), nm = rowNorms(merged), cos = rowCosines(merged, w0.get(p));
    float[] m = l.magnitude("default").data().toArray();
    double[] dm = new double[m.length], dd = new double[m.length];
    for (int o = 0; o < m.length; o++) {
        dm[o] = Math.abs(m[o] - n0[o]) / n0[o];
        dd[o] = 1 - cos[o];
        mergedRowsHaveLengthM &= Math.abs(nm[o] - Math.abs(m[o])) <= 1e-5 * Math.abs(m[o]); // |m_o|: a negative m_o would flip the row
    }
    double mx = mean(dm), my = mean(dd), sxy = 0, sxx = 0, syy = 0;
    for (int o = 0; o < m.length; o++) { sxy += (dm[o] - mx) * (dd[o] - my); sxx += (dm[o] - mx) * (dm[o] - mx); syy += (dd[o] - my) * (dd[o] - my); }
    System.out.printf("| %s | %d | %.4f | %.5f | %+.2f |%n", p.replace("transformer.", ""), m.length, mx, my, sxy / Math.sqrt(sxx * syy));
}
check(mergedRowsHaveLengthM, "each row of the merged weight has length m_o exactly: the magnitude is the row norm, the rest is direction");
System.out.println("The base here is a random init (row norms ≈ 0.1), so 40 steps turn directions a lot; on a pretrained model both changes");
System.out.println("are far smaller. The paper reports a negative ΔM/ΔD correlation for DoRA (LoRA's is positive); on this toy the sign");
System.out.println("above is whatever the run gives: it is printed, not checked.");
dora.unmerge();
double maxAbs(Tensor a, Tensor b) { float[] x = a.contiguous().toArray(), y = b.contiguous().toArray(); double d = 0; for (int i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i])); return d; }
boolean restored = true;
for (String p : layerPaths) restored &= maxAbs(((DoraLinear) dora.adaptedLayers().get(p)).linear().weight.data(), w0.get(p)) < 1e-5;
check(restored, "unmerge divides by the cached norm and gives W back");

// --- AdaLoRA: ranks follow importance ---------------------------------------------------------------------
System.out.println();
System.out.println("Why: AdaLoRA (Zhang et al. 2023) gives every layer init_r = 6 triplets (P·Λ·Q, the SVD form) and, on a cubic");
System.out.println("schedule, zeroes the singular values with the lowest smoothed sensitivity |p·∇p| until the average is target_r = 3:");
System.out.println("layers that matter for the task keep more rank.");
int total = 40, tinit = 5, tfinal = 10, deltaT = 2;
var anet = fresh();
var ada = PeftModel.wrap(anet, PeftConfig.adalora(6, 3, total).alpha(12).schedule(tinit, tfinal, deltaT).targets("c_attn", "c_proj", "c_fc").seed(3));
var ra = ada.rankAllocator();
System.out.printf("budget: %d triplets at the start, %d at the end (target_r × %d layers)%n", ra.initBudget(), ra.targetBudget(), ada.targets("default").size());
System.out.println("| step | budget (the schedule) | by the cubic formula |");
System.out.println("|---:|---:|---:|");
boolean cubic = true;
for (int s : new int[] {0, 5, 10, 20, 29, 30, 39}) {
    int want = s <= tinit ? ra.initBudget() : s > total - tfinal ? ra.targetBudget()
            : (int) ((ra.initBudget() - ra.targetBudget()) * Math.pow(1 - (double) (s - tinit) / (total - tfinal - tinit), 3) + ra.targetBudget());
    int got = RankAllocator.budget(s, ra.initBudget(), ra.targetBudget(), tinit, tfinal, total, deltaT).budget();
    cubic &= got == want;
    System.out.printf("| %d | %d | %d |%n", s, got, want);
}
check(cubic, "the budget falls as b_T + (b_0 − b_T)·(1 − (t − t_i)/(T − t_f − t_i))³ between tinit and total − tfinal");

System.out.println();
System.out.println("Why: PEFT adds the orthogonal regulariser to the loss and calls update_and_allocate(step) after each optimiser step;");
System.out.println("the same two lines here.");
double abefore = lossOf(anet);
var aopt = new AdamW(anet.parameters().stream().filter(Variable::requiresGrad).toList(), 1e-2, 0.0);
for (int s = 0; s < total; s++) {
    var b = batches.get(s % batches.size());
    aopt.zeroGrad();
    anet.loss(b[0], b[1]).add(ra.orthogonalLoss()).backward();
    aopt.step();
    ada.updateAndAllocate(s);
}
double aafter = lossOf(anet);
System.out.printf("AdaLoRA 6→3 on c_attn, c_proj, c_fc, %d steps: loss %.3f → %.3f%n", total, abefore, aafter);
check(aafter < abefore - 0.1, "the AdaLoRA adapter learned part of the mapping");

System.out.println();
System.out.println("Which layers kept which ranks (■ kept triplet, □ pruned: its singular value is held at 0):");
System.out.println("| layer | kept rank | triplets |");
System.out.println("|---|---:|---|");
int kept = 0;
boolean prunedAreZero = true, deltaIsBEA = true;
for (var e : ra.ranks().entrySet()) {
    var l = (AdaLoraLinear) ada.adaptedLayers().get(e.getKey());
    boolean[] keep = l.pattern("default");
    StringBuilder sb = new StringBuilder();
    float[] ev = l.e("default").data().toArray();
    for (int i = 0; i < keep.length; i++) { sb.append(keep[i] ? '■' : '□'); if (!keep[i]) prunedAreZero &= ev[i] == 0f; }
    System.out.printf("| %s | %d | %s |%n", e.getKey().replace("transformer.", ""), e.getValue(), sb);
    kept += e.getValue();
    // ΔW by hand: Σ_i over kept triplets of E_i · B[:, i] ⊗ A[i, :] · α / (init_r + 1e-5)
    int out = l.outFeatures(), in = l.inFeatures();
    float[] a = l.a("default").data().contiguous().toArray(), bb = l.b("default").data().contiguous().toArray(), dw = l.deltaWeight("default").contiguous().toArray();
    double sc = 12 / (6 + 1e-5), err = 0, ref = 0;
    for (int o = 0; o < out; o++)
        for (int c = 0; c < in; c++) {
            double v = 0;
            for (int i = 0; i < 6; i++) if (keep[i]) v += ev[i] * bb[o * 6 + i] * a[i * in + c];
            err = Math.max(err, Math.abs(v * sc - dw[o * in + c]));
            ref = Math.max(ref, Math.abs(v * sc));
        }
    deltaIsBEA &= err <= 1e-5 * ref;
}
check(kept == ra.targetBudget(), "after the final mask the kept ranks add up to the target budget, " + ra.targetBudget());
check(prunedAreZero, "every pruned triplet's singular value is exactly 0");
check(deltaIsBEA, "each layer's ΔW is the sum over its kept triplets of E_i·b_i·a_iᵀ·α/(init_r + 1e-5)");
System.out.println("AdaLoRA's claim is that the budget goes where it matters; on this toy task the table shows where that was, not a general rule.");
