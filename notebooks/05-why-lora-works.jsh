// 05-why-lora-works: the LoRA paper's §7 (Hu et al. 2021) on a small budget — how alike are the subspaces that
// LoRA learns at two ranks and from two seeds (φ), and how does ΔW relate to the pre-trained W (amplification)?
// `./vectorgrad analyze` runs the full version (every table of §7 and VeRA's sweep, PNGs, report.md); this
// notebook walks through the same pieces by hand. Run it with `./vectorgrad notebook 05-why-lora-works`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.peft.*;
import dev.vectorgrad.peft.demo.*;
import dev.vectorgrad.transformer.train.HeatMap;
import java.io.PrintStream;
import java.util.*;

void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }
void why(String s) { System.out.println(); System.out.println("Why: " + s); }

// --- 1. φ, the normalised subspace similarity, on matrices whose answer we know ----------------------------
why("φ(A₁, A₂, i, j) = ‖U₁⁽ⁱ⁾ᵀU₂⁽ʲ⁾‖²_F / min(i, j) asks how much of the top-i input directions of one A lie in the top-j "
    + "of the other: 1 when one span contains the other, 0 when they are orthogonal. Before trusting it on trained "
    + "adapters, try it where the answer is known.");
int d = 128;
double[][] g = Analysis.gaussian(4, d, 1);
double[][] scaledRows = new double[4][];
for (int k = 0; k < 4; k++) { scaledRows[k] = g[k].clone(); for (int t = 0; t < d; t++) scaledRows[k][t] *= (k + 1); }
double[][] self = Analysis.subspaceSimilarity(g, scaledRows);       // same row space, other scales
System.out.printf("φ(A, rescaled A, 4, 4) = %.6f%n", self[3][3]);
check(Math.abs(self[3][3] - 1) < 1e-9, "the same 4-dimensional row space gives φ(4, 4) = 1");
double[][] e1 = new double[1][d], e2 = new double[1][d];
e1[0][0] = 1; e2[0][1] = 1;
check(Analysis.subspaceSimilarity(e1, e2)[0][0] < 1e-12, "orthogonal directions give φ = 0");

why("Random subspaces are not orthogonal: an i- and a j-dimensional random subspace of ℝ^d overlap by max(i, j)/d "
    + "on average. This is the baseline every learned φ has to beat, and why width matters: at d = 128 a rank-64 "
    + "comparison starts at 0.5.");
double mean = 0;
for (int s = 0; s < 20; s++) mean += Analysis.subspaceSimilarity(Analysis.gaussian(2, d, 10 + s), Analysis.gaussian(16, d, 50 + s))[1][15] / 20;
System.out.printf("two Gaussian matrices, 2 × %d and 16 × %d: mean φ(2, 16) over 20 pairs = %.3f, max(i, j)/d = %.3f%n", d, d, mean,
        Analysis.expectedRandomSimilarity(2, 16, d));
check(Math.abs(mean - 0.125) < 0.03, "random subspaces overlap by ≈ max(i, j)/d");

// --- 2. The amplification factor on a W we built ---------------------------------------------------------
why("Table 7 projects the pre-trained W onto ΔW's top-r singular directions: ‖UᵀWV‖_F. If ΔW reused W's strongest "
    + "directions this would be as large as √(σ₁² + … + σ_r²); if ΔW were random, about ‖W‖_F·r/d. Build W = Q₁·diag(σ)·Q₂ᵀ "
    + "and a ΔW along two of W's weak directions, where the answer is √(σ₇² + σ₈²) (σ counted from 1).");
int n = 32;
double[][] q1 = Svd.ofDouble(Analysis.gaussian(n, n, 3)).u(), q2 = Svd.ofDouble(Analysis.gaussian(n, n, 4)).v();  // orthonormal bases
double[] sigma = new double[n];
for (int k = 0; k < n; k++) sigma[k] = 10.0 / (k + 1);
double[][] outer(double[] c) {
    double[][] m = new double[n][n];
    for (int k = 0; k < n; k++) if (c[k] != 0) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) m[i][j] += c[k] * q1[i][k] * q2[j][k];
    return m;
}
double[][] w = outer(sigma);
double[] c = new double[n]; c[6] = 0.8; c[7] = 0.5;
double[][] dw = outer(c);
var amp = Analysis.amplification(w, dw, 2, 7);
System.out.println("| U, V from | ‖UᵀWV‖_F | closed form |");
System.out.println("|---|---:|---:|");
System.out.printf("| ΔW | %.4f | √(σ₇² + σ₈²) = %.4f |%n", amp.projDelta(), Math.hypot(sigma[6], sigma[7]));
System.out.printf("| W | %.4f | √(σ₁² + σ₂²) = %.4f |%n", amp.projW(), Math.hypot(sigma[0], sigma[1]));
System.out.printf("| random | %.4f | ≈ ‖W‖_F·r/d = %.4f |%n", amp.projRandom(), amp.expectedRandom());
System.out.printf("‖ΔW‖_F = %.4f, amplification = ‖ΔW‖_F / %.4f = %.3f%n", amp.deltaNorm(), amp.projDelta(), amp.factor());
check(Math.abs(amp.projDelta() - Math.hypot(sigma[6], sigma[7])) < 1e-9, "ΔW along W's 7th and 8th directions projects to √(σ₇² + σ₈²)");
check(Math.abs(amp.projW() - Math.hypot(sigma[0], sigma[1])) < 1e-9, "W's own top-2 directions give √(σ₁² + σ₂²)");

// --- 3. A real adaptation: the demo's GPT, English → Dutch, LoRA on W_q and W_v ---------------------------
why("Now on a trained model: the demo's baby GPT (n_embd 128), briefly pretrained on English and adapted to Dutch with "
    + "LoRA on W_q and W_v (the q and v blocks of the fused c_attn). The paper compares r = 8 with r = 64 at d = 12288; at "
    + "d = 128 that would be half noise, so we use the ranks scaled by d/512: r = 2 and r = 16 (r/d = 1/8).");
var quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
var task = DemoTask.pretrained(new PeftDemo.Plan(120_000, 4, 40, 0, 1, 2), null, quiet);
var an = new Analyze(task, 30, 4, null, quiet);
int rs = Analyze.scaled(8, an.width()), rl = Analyze.scaled(64, an.width());
System.out.printf("pretrained target val loss %.4f; ranks %d and %d; analysed layer h.%d%n", task.targetLoss(), rs, rl, an.layer());
var small = an.adapt(new Analyze.Spec("lora", Analyze.QV, rs, Analyze.SEED));
var large = an.adapt(new Analyze.Spec("lora", Analyze.QV, rl, Analyze.SEED));
var large2 = an.adapt(new Analyze.Spec("lora", Analyze.QV, rl, Analyze.SEED2));
System.out.println("| run | trainable params | target val loss |");
System.out.println("|---|---:|---:|");
for (var r : List.of(small, large, large2)) System.out.printf("| %s | %,d | %.4f |%n", r.spec().name(), r.trainable(), r.valLoss());
check(small.valLoss() < task.targetLoss() && large.valLoss() < task.targetLoss(), "both ranks lower the target loss");
check(small.trainable() == 2L * 4 * rs * (128 + 128), "LoRA on q+v trains 2 · layers · r · (in + out) parameters");

why("φ between A_{r=" + rs + "} and A_{r=" + rl + "} of W_q and W_v, with the random baseline beside it. The paper found the top "
    + "direction shared (φ > 0.5) and the rest noise; 30 steps on a 40-step model is a much smaller budget, so read the "
    + "numbers against the baseline, not against the paper.");
String Q = Analyze.Q, V = Analyze.V;
for (String t : List.of(Q, V)) {
    double[][] phi = Analysis.subspaceSimilarity(small.a().get(t), large.a().get(t));
    System.out.printf("%s: φ(1,1) = %.3f (random 1/d = %.3f), φ(%d,%d) = %.3f (random %.3f)%n", t, phi[0][0], Analysis.expectedRandomSimilarity(1, 1, 128),
            rs, rl, phi[rs - 1][rl - 1], Analysis.expectedRandomSimilarity(rs, rl, 128));
    System.out.print(HeatMap.text(phi));
    boolean inRange = true;
    for (double[] row : phi) for (double x : row) inRange &= x >= -1e-12 && x <= 1 + 1e-12;
    check(inRange, "every φ of " + t + " is in [0, 1]");
}
double[][] seeds = Analysis.subspaceSimilarity(large.a().get(Q), large2.a().get(Q));
double[][] gauss = Analysis.subspaceSimilarity(Analysis.gaussian(rl, 128, 5), Analysis.gaussian(rl, 128, 6));
System.out.printf("two seeds at r = %d, W_q: φ(4,4) = %.3f; two Gaussian matrices: %.3f; random %.3f%n", rl, seeds[3][3], gauss[3][3],
        Analysis.expectedRandomSimilarity(4, 4, 128));

why("ΔW against W for W_q of the analysed layer (Table 7): the projections onto ΔW's, W's and random directions. The sanity "
    + "checks are the ones the paper's table passes: the random column near ‖W‖_F·r/d, the W column equal to the root sum "
    + "of W's top r squared singular values (from a separate exact SVD).");
Tensor wq = an.baseWeight(Q);
System.out.println("| r | ΔW | W | random | ‖W‖_F·r/d | ‖ΔW‖_F | amplification |");
System.out.println("|---:|---:|---:|---:|---:|---:|---:|");
double[] sv = Svd.ofDouble(Analysis.rows(wq, "W_q")).s();
for (var run : List.of(small, large)) {
    int r = run.spec().r();
    var a = Analysis.amplification(wq, run.deltaW().get(Q), r, 99);
    System.out.printf("| %d | %.4f | %.3f | %.4f | %.4f | %.4f | %.2f |%n", r, a.projDelta(), a.projW(), a.projRandom(), a.expectedRandom(), a.deltaNorm(), a.factor());
    double top = 0;
    for (int k = 0; k < r; k++) top += sv[k] * sv[k];
    check(Math.abs(a.projW() - Math.sqrt(top)) < 1e-6 * Math.sqrt(top), "r = " + r + ": the W column = √(Σ_{k≤r} σ_k²)");
    check(a.projRandom() > a.expectedRandom() / 4 && a.projRandom() < a.expectedRandom() * 4, "r = " + r + ": the random column is near ‖W‖_F·r/d");
}
System.out.println();
System.out.println("The full analysis, with the paper's published values beside ours: ./vectorgrad analyze (report in runs/analyze/report.md).");
