package dev.vectorgrad.encoder.classify;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.encoder.Bert;
import dev.vectorgrad.encoder.MiniLm;
import dev.vectorgrad.encoder.WordPieceTokenizer;
import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.train.LossPlot;
import dev.vectorgrad.transformer.train.TrainLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./vectorgrad demo classify}: the VeRA paper's GLUE comparison in miniature, on real labelled data. all-MiniLM-L6-v2
 * plus a linear head on its pooled embedding ({@link TextClassifier}) learns SpamAssassin's spam / ham labels
 * ({@link SpamCorpus}) with each method — head only, full fine-tuning, BitFit, LoRA, VeRA (on the attention query and
 * value projections, as the paper's GLUE runs), DoRA, Houlsby and Pfeiffer bottleneck adapters — for the same steps on the same batches from the same head init,
 * beside a bag-of-words logistic regression ({@link BagOfWords}) on the same input. Prints the table, writes it and a PNG
 * of validation accuracy against steps to {@code runs/demo-classify/}, and every trained adapter under {@code adapters/}
 * (LoRA's as a PEFT directory with BERT's Hugging Face names, the head as PEFT's {@code modules_to_save}).
 *
 * <p>The input is the subject's word pieces (then the first {@link Plan#bodyPieces} of the body's, 0 by default): with
 * more of the body the baseline passes 95% and the table could not show a trade-off (README, "demo classify").
 */
public final class ClassifyDemo {
    public static final String HEADER = "| method | trainable params (excl. head) | adapter file bytes | test accuracy | test F1 (spam) | ms/step | peak heap MB |";
    /** LoRA / VeRA / DoRA targets: the attention query and value projections of every layer. */
    public static final String[] TARGETS = {"query", "value"};
    static final long SEED = 1337, BATCH_SEED = 4242, VERA_KEY = 0;
    /** The head's learning rate, the same for every method. */
    static final double HEAD_LR = 2e-2;
    /** The baseline's L2 strengths, the one with the best validation accuracy wins; its Adam epochs and step size. */
    static final double[] BASELINE_L2 = {1e-5, 1e-4, 1e-3, 1e-2};
    static final int BASELINE_EPOCHS = 200;
    static final double BASELINE_LR = 0.05;

    /**
     * The budget and the input: {@code steps} AdamW steps of {@code batch} e-mails per method; validation accuracy every
     * {@code evalEvery} steps on {@code valCurve} e-mails of the validation split (a fixed stratified sample; 0: all of it);
     * input = subject + first {@code bodyPieces} body pieces, at most {@code maxPieces}; {@code limit} &gt; 0 keeps only
     * that many e-mails of each split (tests); {@code methods} empty: every method.
     */
    public record Plan(int steps, int batch, int evalEvery, int valCurve, int bodyPieces, int maxPieces, int limit, List<String> methods) {
        /**
         * The demo's budget: 100 steps of 32 (3,200 e-mails, 0.78 of an epoch), the curve every 20 steps on 256
         * validation e-mails, the test split in full at the end.
         */
        public static Plan full() {
            return new Plan(100, 32, 20, 256, 0, 62, 0, List.of());
        }

        Plan withSteps(int n) { return new Plan(n, batch, evalEvery, valCurve, bodyPieces, maxPieces, limit, methods); }

        Plan withBodyPieces(int n) { return new Plan(steps, batch, evalEvery, valCurve, n, maxPieces, limit, methods); }

        Plan withMethods(List<String> m) { return new Plan(steps, batch, evalEvery, valCurve, bodyPieces, maxPieces, limit, List.copyOf(m)); }
    }

    /** One row of the table: test metrics, mean step time, peak heap and the validation curve. */
    public record Row(String method, long trainable, long fileBytes, Metrics test, double msPerStep, double peakHeapMb,
                      List<Integer> evalSteps, List<Double> valAccuracy) {}

    /** What a run produced. */
    public record Report(Row baseline, List<Row> rows, String table, Path markdown, Path png) {}

    /** A method: a name, how a fresh model becomes trainable ({@code kind}), its body learning rate and PEFT config. */
    record Method(String name, String kind, double lr, PeftConfig peft) {}

    static List<Method> methods() {
        return List.of(
                new Method("head only", "head", 0, null),
                new Method("full FT", "full", 1e-4, null),
                new Method("BitFit", "bitfit", 1e-3, null),
                new Method("LoRA r=8", "peft", 1e-3, PeftConfig.lora(8, 16, TARGETS).modulesToSave(TextClassifier.HEAD).seed(SEED).build()),
                new Method("VeRA r=256", "peft", 1e-2,
                        PeftConfig.vera(256, VERA_KEY, TARGETS).saveProjection(false).modulesToSave(TextClassifier.HEAD).seed(SEED).build()),
                new Method("DoRA r=8", "peft", 1e-3, PeftConfig.lora(8, 16, TARGETS).dora(true).modulesToSave(TextClassifier.HEAD).seed(SEED).build()),
                // bottleneck adapters where AdapterHub puts them on BERT (Bert.houlsby() / pfeiffer(): d/16 = 24)
                new Method("Houlsby", "peft", 1e-3, Bert.houlsby().modulesToSave(TextClassifier.HEAD).seed(SEED).build()),
                new Method("Pfeiffer", "peft", 1e-3, Bert.pfeiffer().modulesToSave(TextClassifier.HEAD).seed(SEED).build()));
    }

    private final Plan plan;
    private final Path out;
    private final PrintStream log;

    public ClassifyDemo(Plan plan, Path out, PrintStream log) {
        this.plan = plan;
        this.out = out;
        this.log = log;
    }

    public static void main(String[] args) throws IOException {
        Plan p = Plan.full();
        Path root = Path.of(System.getProperty("vectorgrad.root", "."));
        Path data = root.resolve(SpamCorpus.FILE), outDir = Path.of("runs", "demo-classify");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> outDir = Path.of(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--steps" -> p = p.withSteps(Integer.parseInt(args[++i]));
                case "--body-pieces" -> p = p.withBodyPieces(Integer.parseInt(args[++i]));
                case "--methods" -> p = p.withMethods(List.of(args[++i].split(",")));
                default -> {
                    System.err.println("usage: ./vectorgrad demo classify [--out DIR] [--data spam.tsv.gz] [--steps N] [--body-pieces N] [--methods 'head only,LoRA r=8,...']");
                    System.exit(2);
                }
            }
        }
        if (!Files.isRegularFile(data)) {
            System.err.println("demo classify: " + data + " not found (it is in the repository: " + SpamCorpus.FILE + ")");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        new ClassifyDemo(p, outDir, System.out).run(SpamCorpus.read(data), MiniLm.load());
        System.out.printf(Locale.ROOT, "total wall time: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    /** An e-mail as the models see it: word pieces (no [CLS]/[SEP]) and its label. */
    record Example(int[] pieces, boolean spam) {}

    // ------------------------------------------------------------------ the experiment

    public Report run(SpamCorpus.Splits splits, MiniLm minilm) throws IOException {
        WordPieceTokenizer tok = minilm.tokenizer();
        List<Example> train = examples(splits.train(), tok), val = examples(splits.val(), tok), test = examples(splits.test(), tok);
        List<Example> valCurve = plan.valCurve() > 0 && plan.valCurve() < val.size() ? sample(val, plan.valCurve()) : val;
        log.printf(Locale.ROOT, "vectorgrad demo classify: all-MiniLM-L6-v2 + a linear head on SpamAssassin (train %d, val %d, test %d e-mails; "
                        + "input: subject + first %d body word pieces, at most %d); %d steps of %d per method, same batches and head init; "
                        + "val accuracy every %d steps on %d val e-mails%n",
                train.size(), val.size(), test.size(), plan.bodyPieces(), plan.maxPieces(), plan.steps(), plan.batch(), plan.evalEvery(), valCurve.size());

        Row baseline = baseline(train, val, valCurve, test, tok.vocabSize());
        Map<String, Tensor> weights = new LinkedHashMap<>();
        minilm.bert().stateDict().forEach((k, v) -> weights.put(k, v.copy()));
        Bert.Config config = minilm.bert().config();

        Files.createDirectories(out.resolve("adapters"));
        List<Row> rows = new ArrayList<>();
        for (Method m : methods())
            if (plan.methods().isEmpty() || plan.methods().contains(m.name())) rows.add(tune(m, config, weights, tok, train, valCurve, test));

        String table = table(baseline, rows);
        log.println();
        log.println(table);
        log.println();
        log.println(footnotes());
        String md = "# vectorgrad demo classify\n\n"
                + String.format(Locale.ROOT, "all-MiniLM-L6-v2 + linear head on SpamAssassin (`%s`): train %d, val %d, test %d e-mails; input = subject + "
                        + "first %d body word pieces (at most %d). Every method: %d AdamW steps of %d e-mails (identical batches), head init seed %d, "
                        + "head lr %s; LoRA / VeRA / DoRA on `%s`.%n%n", SpamCorpus.FILE, train.size(), val.size(), test.size(), plan.bodyPieces(),
                plan.maxPieces(), plan.steps(), plan.batch(), SEED, HEAD_LR, String.join("`, `", TARGETS))
                + table + "\n\n" + footnotes() + "\n";
        Path mdFile = out.resolve("classify.md");
        AtomicFiles.writeString(mdFile, md);
        List<LossPlot.Series> series = new ArrayList<>();
        for (Row r : rows) series.add(LossPlot.Series.of(r.method(), r.evalSteps(), r.valAccuracy()));
        series.add(LossPlot.Series.of(baseline.method(), List.of(0, plan.steps()), baseline.valAccuracy()));
        Path png = out.resolve("val-accuracy.png");
        LossPlot.write(png, "SpamAssassin validation accuracy while training", "step", "val accuracy", series, LossPlot.WIDTH, LossPlot.HEIGHT);
        log.println("wrote " + mdFile + " and " + png);
        return new Report(baseline, rows, table, mdFile, png);
    }

    private List<Example> examples(List<SpamCorpus.Email> emails, WordPieceTokenizer tok) {
        List<SpamCorpus.Email> kept = plan.limit() > 0 ? limited(emails, plan.limit()) : emails;
        List<Example> out = new ArrayList<>(kept.size());
        for (SpamCorpus.Email e : kept) out.add(new Example(SpamCorpus.pieces(tok, e, plan.bodyPieces(), plan.maxPieces()), e.spam()));
        return out;
    }

    /** A fixed sample of {@code n} examples with the split's spam share (seeded, in the split's order). */
    static List<Example> sample(List<Example> xs, int n) {
        List<Integer> spam = new ArrayList<>(), ham = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) (xs.get(i).spam() ? spam : ham).add(i);
        int nSpam = (int) Math.round((double) n * spam.size() / xs.size());
        Rng rng = new Rng(SEED);
        boolean[] keep = new boolean[xs.size()];
        for (var group : List.of(spam, ham)) {
            int want = group == spam ? nSpam : n - nSpam;
            for (int i = group.size() - 1; i > 0; i--) Collections.swap(group, i, rng.nextInt(i + 1));
            for (int i = 0; i < want; i++) keep[group.get(i)] = true;
        }
        List<Example> out = new ArrayList<>(n);
        for (int i = 0; i < xs.size(); i++) if (keep[i]) out.add(xs.get(i));
        return out;
    }

    /** The first {@code n / 2} spam and the first {@code n - n / 2} ham (the file lists ham first). */
    private static List<SpamCorpus.Email> limited(List<SpamCorpus.Email> emails, int n) {
        List<SpamCorpus.Email> spam = new ArrayList<>(), ham = new ArrayList<>();
        for (SpamCorpus.Email e : emails) {
            if (e.spam() && spam.size() < n / 2) spam.add(e);
            if (!e.spam() && ham.size() < n - n / 2) ham.add(e);
        }
        spam.addAll(ham);
        return spam;
    }

    /** The bag-of-words baseline: L2 chosen on validation accuracy, then scored on the test split. */
    private Row baseline(List<Example> train, List<Example> val, List<Example> valCurve, List<Example> test, int vocab) {
        BagOfWords best = null;
        double bestVal = -1, bestL2 = 0;
        for (double l2 : BASELINE_L2) {
            BagOfWords m = BagOfWords.fit(pieces(train), labels(train), vocab, l2, BASELINE_EPOCHS, BASELINE_LR);
            double acc = Metrics.of(m.predict(pieces(val)), labels(val)).accuracy();
            if (acc > bestVal) {
                bestVal = acc;
                best = m;
                bestL2 = l2;
            }
        }
        Metrics t = Metrics.of(best.predict(pieces(test)), labels(test));
        double curve = Metrics.of(best.predict(pieces(valCurve)), labels(valCurve)).accuracy();
        log.printf(Locale.ROOT, "baseline (bag-of-words logistic regression, L2 %s chosen on val): val %.4f, test %.4f, F1 %.4f%n", bestL2, bestVal,
                t.accuracy(), t.f1());
        return new Row("bag-of-words logistic regression", vocab + 1, 0, t, Double.NaN, Double.NaN, List.of(0, plan.steps()), List.of(curve, curve));
    }

    private static List<int[]> pieces(List<Example> xs) {
        List<int[]> out = new ArrayList<>(xs.size());
        for (Example x : xs) out.add(x.pieces());
        return out;
    }

    private static boolean[] labels(List<Example> xs) {
        boolean[] y = new boolean[xs.size()];
        for (int i = 0; i < y.length; i++) y[i] = xs.get(i).spam();
        return y;
    }

    /** A fresh MiniLM with the pretrained weights and the seeded head, made trainable by method {@code m}. */
    static TextClassifier fresh(Bert.Config config, Map<String, Tensor> weights) {
        Bert bert = new Bert(config);
        bert.loadStateDict(weights, true);
        return new TextClassifier(bert, 2, new Rng(SEED));
    }

    private Row tune(Method m, Bert.Config config, Map<String, Tensor> weights, WordPieceTokenizer tok, List<Example> train, List<Example> valCurve,
                     List<Example> test) throws IOException {
        TextClassifier model = fresh(config, weights);
        PeftModel pm = null;
        switch (m.kind()) {
            case "head" -> model.requiresGrad(false);
            case "full" -> Methods.fullFineTune(model);
            case "bitfit" -> Methods.bitFit(model);
            case "peft" -> pm = PeftModel.wrap(model, m.peft());
            default -> throw new IllegalStateException(m.kind());
        }
        model.classifier.requiresGrad(true);
        Set<Variable> head = Collections.newSetFromMap(new IdentityHashMap<>());
        head.addAll(model.classifier.parameters());
        List<Variable> body = new ArrayList<>(), trainable = new ArrayList<>();
        for (Variable v : model.parameters())
            if (v.requiresGrad()) {
                trainable.add(v);
                if (!head.contains(v)) body.add(v);
            }
        long nBody = 0;
        for (Variable v : body) nBody += v.numel();
        List<ParamGroup> groups = new ArrayList<>();
        groups.add(ParamGroup.of(new ArrayList<>(head)).lr(HEAD_LR));
        if (!body.isEmpty()) groups.add(ParamGroup.of(body).lr(m.lr()));
        AdamW opt = new AdamW(groups, HEAD_LR, 0.9, 0.999, 1e-8, 0.0);

        int padId = tok.padId();
        double[] peak = {Double.NaN};
        boolean[] last = {false};
        // the one training loop: constant learning rates, clipping at 1.0, one micro-batch per step
        TrainLoop loop = new TrainLoop(model, b -> {
            Variable loss = F.crossEntropy(model.logits(b.x(), mask(b.x(), padId)), b.y());
            if (last[0]) peak[0] = liveHeapMb(); // the forward graph and its activations are alive here
            return loss;
        }, trainable, opt, (o, s) -> {}, 1.0, 1, batches(train, tok));

        List<Integer> steps = new ArrayList<>(List.of(0));
        List<Double> acc = new ArrayList<>(List.of(evaluate(model, loop, valCurve, tok).accuracy()));
        log.printf(Locale.ROOT, "%-11s trainable %,d + head %,d: val acc %.4f", m.name(), nBody, headSize(model),
                acc.get(0));
        double[] ms = new double[plan.steps()];
        for (int s = 1; s <= plan.steps(); s++) {
            long t0 = System.nanoTime();
            last[0] = s == plan.steps();
            loop.takeStep();
            ms[s - 1] = (System.nanoTime() - t0) / 1e6;
            if (s % plan.evalEvery() == 0 || s == plan.steps()) {
                steps.add(s);
                acc.add(evaluate(model, loop, valCurve, tok).accuracy());
                log.printf(Locale.ROOT, " → %d: %.4f", s, acc.get(acc.size() - 1));
                log.flush();
            }
        }
        Metrics t = evaluate(model, loop, test, tok);
        Arrays.sort(ms);
        double median = ms.length == 0 ? Double.NaN : ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        log.printf(Locale.ROOT, "  test %.4f, F1 %.4f (%.0f ms/step)%n", t.accuracy(), t.f1(), median);

        String slug = m.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("-$", "");
        Path file;
        if (pm != null) {
            Path dir = out.resolve("adapters").resolve(slug);
            PeftFiles.save(pm, "default", dir);
            file = dir.resolve(PeftFiles.WEIGHTS);
        } else {
            file = out.resolve("adapters").resolve(slug + ".safetensors"); // every trained tensor, head included, under the model's names
            Methods.saveTrained(model, file);
        }
        return new Row(m.name(), nBody, Files.size(file), t, median, peak[0], steps, acc);
    }

    private static long headSize(TextClassifier model) {
        long n = 0;
        for (Variable v : model.classifier.parameters()) n += v.numel();
        return n;
    }

    /** The training batches: epochs of the training set in a fresh seeded order each, cut into batches of {@code plan.batch()}. */
    private java.util.function.Supplier<Batcher.Batch> batches(List<Example> train, WordPieceTokenizer tok) {
        Rng rng = new Rng(BATCH_SEED);
        int n = train.size();
        int[] order = new int[n];
        int[] pos = {n};
        return () -> {
            List<Example> b = new ArrayList<>(plan.batch());
            while (b.size() < plan.batch()) {
                if (pos[0] == n) {
                    for (int i = 0; i < n; i++) order[i] = i;
                    for (int i = n - 1; i > 0; i--) { // Fisher-Yates
                        int j = rng.nextInt(i + 1), t = order[i];
                        order[i] = order[j];
                        order[j] = t;
                    }
                    pos[0] = 0;
                }
                b.add(train.get(order[pos[0]++]));
            }
            return batch(b, tok);
        };
    }

    /**
     * {@code [CLS] pieces [SEP]} right-padded as x [B, T], labels (1 = spam) as y [B]. T is the longest sequence rounded
     * up to a multiple of {@value #PAD_MULTIPLE}: the step arena pools arrays by exact size, so a T per batch would keep
     * one set of activations per length seen (it ran out of a 6 GB heap); four buckets (T ≤ 64) bound that. Padded keys
     * are masked, so the result is the same.
     */
    static Batcher.Batch batch(List<Example> xs, WordPieceTokenizer tok) {
        int[] y = new int[xs.size()];
        int longest = 0;
        for (Example x : xs) longest = Math.max(longest, x.pieces().length + 2);
        int t = (longest + PAD_MULTIPLE - 1) / PAD_MULTIPLE * PAD_MULTIPLE, b = xs.size();
        int[] ids = new int[b * t];
        Arrays.fill(ids, tok.padId());
        for (int i = 0; i < b; i++) {
            int[] s = SpamCorpus.withSpecials(tok, xs.get(i).pieces());
            System.arraycopy(s, 0, ids, i * t, s.length);
            y[i] = xs.get(i).spam() ? 1 : 0;
        }
        return new Batcher.Batch(IntTensor.of(ids, b, t), IntTensor.of(y, b));
    }

    /** Batches are padded to a multiple of this many tokens. */
    static final int PAD_MULTIPLE = 16;

    /** The attention mask of right-padded ids: 1 where the id is not the pad id ([CLS] and [SEP] never are). */
    static IntTensor mask(IntTensor ids, int padId) {
        int b = ids.shape()[0], t = ids.shape()[1];
        int[] m = new int[b * t];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++) m[i * t + j] = ids.get(i, j) == padId ? 0 : 1;
        return IntTensor.of(m, b, t);
    }

    /** Predictions on {@code xs} (no graph, evaluation mode, batches of 64 of similar length). */
    static Metrics evaluate(TextClassifier model, TrainLoop loop, List<Example> xs, WordPieceTokenizer tok) {
        Integer[] order = new Integer[xs.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Integer.compare(xs.get(a).pieces().length, xs.get(b).pieces().length));
        boolean[] predicted = new boolean[xs.size()];
        model.train(false);
        try (var g = Grad.disabled()) {
            for (int s = 0; s < order.length; s += 64) {
                List<Example> chunk = new ArrayList<>();
                for (int i = s; i < Math.min(order.length, s + 64); i++) chunk.add(xs.get(order[i]));
                // not in the loop's arena: it pools arrays by exact size for ever, and evaluation batches come in every
                // length bucket; with them pooled too, DoRA's run went past a 6 GB heap. These die young instead.
                Batcher.Batch b = batch(chunk, tok);
                float[] logits = model.logits(b.x(), mask(b.x(), tok.padId())).data().contiguous().toArray();
                for (int i = 0; i < chunk.size(); i++) predicted[order[s + i]] = logits[2 * i + 1] > logits[2 * i];
            }
        }
        model.train(true);
        return Metrics.of(predicted, labels(xs));
    }

    /** Live heap: used heap right after a full System.gc(). */
    static double liveHeapMb() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    }

    // ------------------------------------------------------------------ table

    public static String table(Row baseline, List<Row> rows) {
        StringBuilder sb = new StringBuilder(HEADER).append('\n').append("|---|---:|---:|---:|---:|---:|---:|");
        sb.append('\n').append(String.format(Locale.ROOT, "| %s (baseline) | %,d weights (no encoder) | — | %.4f | %.4f | — | — |", baseline.method(),
                baseline.trainable(), baseline.test().accuracy(), baseline.test().f1()));
        for (Row r : rows)
            sb.append('\n').append(String.format(Locale.ROOT, "| %s | %,d | %,d | %.4f | %.4f | %.1f | %.0f |", r.method(), r.trainable(), r.fileBytes(),
                    r.test().accuracy(), r.test().f1(), r.msPerStep(), r.peakHeapMb()));
        return sb.toString();
    }

    static String footnotes() {
        return "trainable params (excl. head): what the method trains in the encoder; every MiniLM row also trains the 770-parameter head "
                + "(384×2 + 2, lr " + HEAD_LR + "). adapter file bytes: the file that reproduces the tuned classifier on the pretrained MiniLM — the PEFT "
                + "directory's adapter_model.safetensors (head included as modules_to_save; VeRA with save_projection false: the projections come from "
                + "the key) for LoRA / VeRA / DoRA, the trained tensors (Methods.saveTrained, head included) for head only, BitFit and full FT. "
                + "ms/step: median wall time of a training step (forward + backward + clip + AdamW). peak heap MB: live heap in the last step after "
                + "the forward pass (System.gc() then MemoryMXBean), including what every row shares (the pretrained weights kept for the next method). "
                + "Learning rates fixed per method, not tuned: full FT 1e-4, BitFit 1e-3, LoRA / DoRA 1e-3 (α = 2r), VeRA 1e-2, "
                + "Houlsby / Pfeiffer 1e-3 (bottleneck d/16 = 24; their file is vectorgrad's own BOTTLENECK type, which PEFT cannot load). "
                + "Baseline: binary bag of word pieces, logistic regression (Adam, " + BASELINE_EPOCHS + " full-batch epochs, L2 chosen on validation "
                + "accuracy); its val accuracy is drawn flat in the PNG.";
    }
}
