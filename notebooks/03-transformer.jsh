// 03-transformer: a small character-level GPT, built and trained from scratch, sampled with the KV cache,
// and one attention head looked at as a text heat map.
// Run it with `./vectorgrad notebook 03-transformer`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.tensor.*;
import dev.vectorgrad.autograd.*;
import dev.vectorgrad.autograd.optim.*;
import dev.vectorgrad.transformer.*;
import dev.vectorgrad.transformer.data.*;
import java.nio.file.*;
import java.util.*;

void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }

// --- The text -----------------------------------------------------------------------------------------
// The English part of the Europarl corpus embedded in the build (transformer's EmbeddedCorpus), so the notebook
// runs the same on a bare clone as anywhere else. `train --corpus FILE` takes any other text, Tiny Shakespeare too.
String text = EmbeddedCorpus.language("en", 1_100_000);
String corpus = "embedded Europarl, English";
System.out.printf("corpus: %s, %,d characters%n", corpus, text.length());

// --- A character tokenizer: one id per distinct character, in sorted order ---------------------------------
var tok = CharTokenizer.fit(text);
int V = tok.vocabSize();
int[] everyId = new int[V];
for (int i = 0; i < V; i++) everyId[i] = i;
System.out.println("vocabulary, " + V + " characters: " + tok.decode(everyId).replace("\n", "\\n"));
int[] hello = tok.encode("the king");
System.out.println("\"the king\" -> " + Arrays.toString(hello) + " -> \"" + tok.decode(hello) + "\"");
check(tok.decode(tok.encode(text.substring(0, 1000))).equals(text.substring(0, 1000)), "decode(encode(text)) == text");

// nanoGPT's split: the first 90% of the characters train, the last 10% validate.
var split = TextSplit.of(text);
int[] trainIds = tok.encode(split.train()), valIds = tok.encode(split.val());
System.out.printf("train %,d tokens, val %,d tokens%n", trainIds.length, valIds.length);

// --- The model: nanoGPT's architecture, GPT-2's parameter names ----------------------------------------
// 3 pre-LayerNorm blocks of 4 heads, residual width 96, a context of 64 characters, no biases, no dropout.
var cfg = new GptConfig(V, 64, 3, 4, 96, 0.0, false, GptConfig.Activation.GELU, 1e-5);
var model = new Gpt(cfg, 1337);
int C = cfg.nEmbd(), T = cfg.blockSize(), L = cfg.layers();
// Counted by hand: token and position embeddings, per block two LayerNorm weights, c_attn (3C·C), the attention
// c_proj (C·C), c_fc (4C·C) and the MLP's c_proj (4C·C), then ln_f. The LM head reuses wte (tied), so it adds nothing.
long byHand = (long) V * C + (long) T * C + L * (12L * C * C + 2L * C) + C;
System.out.printf("parameters: %,d (by hand %,d); head size %d%n", model.parameterCount(), byHand, cfg.headSize());
model.namedParameters().forEach((n, p) -> { if (!n.contains(".h.") || n.contains(".h.0.")) System.out.println("  " + n + " " + Arrays.toString(p.shape())); });
check(model.parameterCount() == byHand, "parameter count = V·C + T·C + L·(12C² + 2C) + C");

// --- Before training: every character about equally likely, so the loss is about ln V --------------------
var evalBatches = new Batcher(valIds, 16, T, 7);        // 8 fixed batches of validation windows, the same before and after
List<Batcher.Batch> valSet = new ArrayList<>();
for (int i = 0; i < 8; i++) valSet.add(evalBatches.next());
double valLoss() {
    model.eval();
    double s = 0;
    try (var g = Grad.disabled()) { for (var b : valSet) s += model.loss(b.x(), b.y()).item(); }
    model.train();
    return s / valSet.size();
}
double val0 = valLoss();
System.out.printf("val loss at init %.4f, ln V = %.4f%n", val0, Math.log(V));
check(Math.abs(val0 - Math.log(V)) < 0.3, "an untrained model predicts about uniformly");

// --- Training: random windows, AdamW, warm-up then cosine decay, gradient clipping ------------------------
// As nanoGPT: weight decay only on matrices (rank ≥ 2), not on LayerNorm weights.
List<Variable> matrices = new ArrayList<>(), vectors = new ArrayList<>();
for (var p : model.parameters()) (p.rank() >= 2 ? matrices : vectors).add(p);
var opt = new AdamW(List.of(ParamGroup.of(matrices).weightDecay(0.1), ParamGroup.of(vectors).weightDecay(0.0)), 5e-3, 0.9, 0.99, 1e-8, 0.1);
int steps = 400, warmup = 30;
double maxLr = 5e-3, minLr = 5e-4;
double lrAt(int it) {
    if (it < warmup) return maxLr * (it + 1) / warmup;
    double r = (it - warmup) / (double) (steps - warmup);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * r)) * (maxLr - minLr);
}
var batcher = new Batcher(trainIds, 16, T, 1337);       // 16 random windows of 64 characters per step
double firstLoss = 0, last20 = 0;                       // the first step's loss, and the mean of the last 20
long t0 = System.nanoTime();
for (int it = 0; it < steps; it++) {
    var b = batcher.next();
    opt.zeroGrad();
    var loss = model.loss(b.x(), b.y());
    loss.backward();
    Optimizer.clipGradNorm(model.parameters(), 1.0);
    opt.setLr(lrAt(it));
    opt.step();
    double l = loss.item();
    if (it == 0) firstLoss = l;
    if (it >= steps - 20) last20 += l / 20;
    if (it % 50 == 0 || it == steps - 1) System.out.printf("step %3d  loss %.4f  lr %.2e  (%.1f s)%n", it, l, lrAt(it), (System.nanoTime() - t0) / 1e9);
}
System.out.printf("training: %d steps in %.1f s; loss %.4f at the first step, %.4f over the last 20%n",
        steps, (System.nanoTime() - t0) / 1e9, firstLoss, last20);
check(last20 < 2.6, "training loss fell from about ln V to below 2.6");

// --- Validation: the same windows as before training ----------------------------------------------------
double val1 = valLoss();
System.out.printf("val loss %.4f -> %.4f%n", val0, val1);
check(val1 < 2.6 && val1 < val0 - 1.2, "validation loss fell below 2.6 too");
model.eval();

// --- Decoding with the KV cache = recomputing the whole prefix every time ----------------------------------
// Gpt.step feeds only the new positions and keeps every layer's keys and values; Gpt.forward recomputes all.
// The prompt: the first 16 characters of the validation text that start a line.
int at = split.val().indexOf('\n');
while (split.val().charAt(at) == '\n') at++;
String promptText = split.val().substring(at, at + 16);
int[] prompt = tok.encode(promptText);
float[] lastRow(int[] ids) {                                   // logits after the last token, by a full forward
    try (var g = Grad.disabled()) {
        Tensor lg = model.forward(IntTensor.wrap(ids, 1, ids.length)).data();
        return lg.select(1, ids.length - 1).contiguous().toArray();
    }
}
double maxAbs(float[] a, float[] b) { double m = 0; for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; }
var cache = model.newCache();
double worst = maxAbs(model.step(cache, Arrays.copyOf(prompt, 8)), lastRow(Arrays.copyOf(prompt, 8)));
for (int i = 8; i < prompt.length; i++)
    worst = Math.max(worst, maxAbs(model.step(cache, new int[] {prompt[i]}), lastRow(Arrays.copyOf(prompt, i + 1))));
System.out.printf("KV cache vs full forward over %d positions: max |logit difference| %.2e%n", prompt.length, worst);
check(worst < 1e-4, "cached logits = recomputed logits");
// Greedy decoding through the Sampler (cache) and by argmax over full recomputation pick the same characters.
int[] greedy = Sampler.generate(model, prompt, 24, Sampler.Options.greedy(), null);
int[] seq = Arrays.copyOf(prompt, prompt.length + 24);
for (int i = 0; i < 24; i++) {
    float[] lg = lastRow(Arrays.copyOf(seq, prompt.length + i));
    int best = 0;
    for (int j = 1; j < V; j++) if (lg[j] > lg[best]) best = j;
    seq[prompt.length + i] = best;
}
System.out.println("greedy: \"" + promptText + "|" + tok.decode(greedy) + "\"");
check(Arrays.equals(greedy, Arrays.copyOfRange(seq, prompt.length, seq.length)), "greedy with the cache = greedy by full recomputation");

// --- Sampling: temperature 0.8, a fixed seed; characters print as they come ----------------------------
var opts = new Sampler.Options(0.8, 0, 1.0, 2024);
System.out.println("--- sample (seed " + opts.seed() + ") ---");
System.out.print(promptText);
long s0 = System.nanoTime();
int[] sample = Sampler.generate(model, prompt, 200, opts, id -> System.out.print(tok.decode(id)));
double sampleS = (System.nanoTime() - s0) / 1e9;
System.out.printf("%n--- %d characters in %.2f s (%.0f per second) ---%n", sample.length, sampleS, sample.length / sampleS);
check(Arrays.equals(sample, Sampler.generate(model, prompt, 200, opts, null)), "the same seed gives the same sample");

// --- One attention head, as a text heat map ---------------------------------------------------------------
// The model never stores its attention weights (FusedAttention keeps only what backward needs), so recompute
// them: walk the blocks by hand on a line of validation text, and in each block project with its own ln_1 and
// c_attn, split q, k, v into heads and form P = softmax(q·kᵀ/√D) with the future masked out. To be sure these are
// the weights the model really uses, P·V of every head must equal that head's columns of FusedAttention's output.
String line = Arrays.stream(split.val().split("\n")).filter(x -> x.length() >= 32 && !x.endsWith(":")).findFirst().orElseThrow();
String attText = line.substring(0, 32);
int[] ids = tok.encode(attText);
int n = ids.length, H = cfg.heads(), D = cfg.headSize();
float scale = (float) (1 / Math.sqrt(D));
Tensor future = Tensor.zeros(n, n);                             // 1 above the diagonal: key j is after query i
for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) future.set(1f, i, j);
Tensor[][] att = new Tensor[L][H];                              // [layer][head] → [n, n] weights
double worstPv = 0;
try (var g = Grad.disabled()) {
    int[] pos = new int[n];
    for (int i = 0; i < n; i++) pos[i] = i;
    var x = model.transformer.wte.forward(IntTensor.wrap(ids, 1, n)).add(model.transformer.wpe.forward(IntTensor.wrap(pos, n)));
    for (int l = 0; l < L; l++) {
        var blk = model.transformer.h.get(l);
        var qkv = blk.attn.cAttn.forward(blk.ln1.forward(x));   // [1, n, 3C]: q, k, v side by side
        Tensor y = FusedAttention.apply(qkv, H, 0f, false, null).data().select(0, 0);    // [n, C], the model's heads
        Tensor r = qkv.data().select(0, 0);                      // [n, 3C]
        for (int h = 0; h < H; h++) {
            Tensor q = r.narrow(1, h * D, D), k = r.narrow(1, C + h * D, D), v = r.narrow(1, 2 * C + h * D, D);
            Tensor p = q.matmul(k.t()).mul(scale).maskedFill(future, Float.NEGATIVE_INFINITY).softmax(1);
            att[l][h] = p;
            float[] a = p.matmul(v).contiguous().toArray(), b = y.narrow(1, h * D, D).contiguous().toArray();
            worstPv = Math.max(worstPv, maxAbs(a, b));
        }
        x = blk.forward(x, model.dropoutRng());
    }
    // ... and the rest of the way, to check that this walk through the blocks is the model's forward pass.
    float[] mine = F.linear(model.transformer.lnF.forward(x), model.transformer.wte.weight, null).data().contiguous().toArray();
    float[] theirs = model.forward(IntTensor.wrap(ids, 1, n)).data().contiguous().toArray();
    System.out.printf("block-by-block logits vs Gpt.forward: max |difference| %.2e%n", maxAbs(mine, theirs));
    check(maxAbs(mine, theirs) < 1e-4, "walking the blocks by hand reproduces Gpt.forward");
}
System.out.printf("P·V vs FusedAttention, every head of every layer: max |difference| %.2e%n", worstPv);
check(worstPv < 1e-4, "the recomputed weights are the ones the model attends with");

// Every head in a line: the mean weight a character puts on itself and on the one before it, and how far back
// it looks on average (over the second half of the prompt, where there is a past to look at).
double[] stats(Tensor p) {
    double self = 0, prev = 0, dist = 0;
    int rows = 0;
    for (int i = n / 2; i < n; i++, rows++) {
        self += p.get(i, i);
        prev += p.get(i, i - 1);
        for (int j = 0; j <= i; j++) dist += p.get(i, j) * (i - j);
    }
    return new double[] {self / rows, prev / rows, dist / rows};
}
int bestL = 0, bestH = 0;
double bestPrev = -1;
for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++) {
        double[] st = stats(att[l][h]);
        System.out.printf("layer %d head %d: on itself %.2f, on the previous character %.2f, mean distance back %4.1f%n", l, h, st[0], st[1], st[2]);
        if (st[1] > bestPrev) { bestPrev = st[1]; bestL = l; bestH = h; }
    }

// The head that most looks at the previous character, drawn: row = the query character, column = the key it
// attends to; one shade per 0.1 of weight (' ' below 0.1 … '@' from 0.9). Spaces in the text show as '_'.
String shades = " .:-=+*#%@";
Tensor pick = att[bestL][bestH];
System.out.printf("layer %d, head %d on \"%s\" (shades \"%s\" for weights 0, 0.1, ... 0.9 and up):%n", bestL, bestH, attText, shades);
String shown = attText.replace(' ', '_');
var sb = new StringBuilder("    ");
for (int j = 0; j < n; j++) sb.append(shown.charAt(j)).append(' ');
System.out.println(sb);
for (int i = 0; i < n; i++) {
    sb = new StringBuilder("  " + shown.charAt(i) + " ");
    for (int j = 0; j < n; j++) {
        char c = shades.charAt(Math.min(9, (int) (pick.get(i, j) * 10)));
        sb.append(c).append(c);
    }
    System.out.println(sb);
}

// Softmax rows are distributions, and causality means no weight on the future — checked for every head.
double worstRow = 0, worstFuture = 0;
for (var layerAtt : att)
    for (var p : layerAtt)
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++) { sum += p.get(i, j); if (j > i) worstFuture = Math.max(worstFuture, Math.abs(p.get(i, j))); }
            worstRow = Math.max(worstRow, Math.abs(sum - 1));
        }
System.out.printf("rows: max |sum − 1| = %.2e; upper triangle: max |weight| = %s%n", worstRow, worstFuture);
check(worstRow < 1e-5, "every row of every head sums to 1");
check(worstFuture == 0, "no weight on later characters: the upper triangle is exactly 0");

// The mask is not just in this recomputation: in the model itself, changing the last character of the text
// leaves the logits at every earlier position bit for bit the same.
int[] changed = ids.clone();
changed[n - 1] = (changed[n - 1] + 1) % V;
try (var g = Grad.disabled()) {
    Tensor before = model.forward(IntTensor.wrap(ids, 1, n)).data().narrow(1, 0, n - 1);
    Tensor after = model.forward(IntTensor.wrap(changed, 1, n)).data().narrow(1, 0, n - 1);
    check(maxAbs(before.contiguous().toArray(), after.contiguous().toArray()) == 0, "the future cannot change the past: earlier logits are unchanged");
}
