package dev.vectorgrad.spark;

import dev.vectorgrad.encoder.MiniLm;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.CharTokenizer;
import dev.vectorgrad.transformer.data.EmbeddedCorpus;
import dev.vectorgrad.transformer.data.TextSplit;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code ./vectorgrad spark-demo}: Spark {@code local[2]} (or the master {@code spark-submit} names) on the embedded
 * Europarl text. Embeds
 * {@value #PASSAGES} passages with MiniLM on Spark and on this machine alone, then pretrains the PEFT demo's
 * character GPT (baby preset with biases) briefly on English and fine-tunes a VeRA adapter on Dutch,
 * data-parallel on two replicas and on one machine with the same global batches. The last two lines are read by
 * scripts: {@code embeddings equal to one machine: yes|no} and {@code final loss data-parallel: X one machine: Y}.
 */
public final class SparkDemo {
    static final int PASSAGES = 2000, PRETRAIN = 150, STEPS = 40, BATCH = 12, CHECKPOINT_EVERY = 10;
    static final long SEED = 1337, BATCH_SEED = 4242;
    static final String[] TARGETS = {"c_attn", "c_proj", "c_fc"};

    private SparkDemo() {}

    public static void main(String[] args) throws IOException {
        if (args.length > 0) {
            System.err.println("usage: ./vectorgrad spark-demo (no arguments)");
            System.exit(2);
        }
        // Spark's INFO lines would drown the demo's: warnings only (a resource of this jar, read before Spark starts).
        System.setProperty("log4j2.configurationFile", "vectorgrad-spark-demo-log4j2.properties");
        Path out = Path.of("runs", "spark-demo");
        long t0 = System.nanoTime();
        SparkSession.Builder builder = SparkSession.builder().appName("vectorgrad spark-demo");
        // local[2] unless spark-submit named a master (it sets spark.master): the same main class runs on a cluster
        if (System.getProperty("spark.master") == null) builder.master("local[2]").config("spark.ui.enabled", "false");
        SparkSession spark = builder.getOrCreate();
        try {
            run(spark, out, System.out);
        } finally {
            spark.stop();
        }
        System.err.printf(Locale.ROOT, "spark-demo: total wall time %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static void run(SparkSession spark, Path out, PrintStream log) throws IOException {
        log.printf(Locale.ROOT, "vectorgrad spark-demo: Spark %s, master %s, %d executor cores%n", spark.version(), spark.sparkContext().master(),
                spark.sparkContext().defaultParallelism());

        // 1. embeddings: Spark against this machine alone
        List<String> passages = passages(PASSAGES);
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, false);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < passages.size(); i++) rows.add(RowFactory.create(i, passages.get(i)));
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(2);
        long t = System.nanoTime();
        List<Row> embedded = VectorgradSpark.embed(df, "text").collectAsList();
        double sparkS = (System.nanoTime() - t) / 1e9;
        t = System.nanoTime();
        float[][] local = MiniLm.load().embed(passages);
        double oneS = (System.nanoTime() - t) / 1e9;
        double worst = 0;
        for (Row r : embedded) {
            List<Float> e = r.getList(2);
            float[] ref = local[r.getInt(0)];
            for (int j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(e.get(j) - ref[j]));
        }
        boolean equal = embedded.size() == passages.size() && worst <= 1e-6;
        log.printf(Locale.ROOT, "embeddings: %,d Europarl passages, MiniLM (384 floats each): Spark local[2] %.1f s (%.1f passages/s, model load included), "
                + "one machine %.1f s (%.1f passages/s, model load included); max |difference| %.2g%n",
                passages.size(), sparkS, passages.size() / sparkS, oneS, passages.size() / oneS, worst);

        // 2. a character GPT, briefly pretrained on English (the PEFT demo's preset), to adapt to Dutch
        String en = EmbeddedCorpus.language("en"), nl = EmbeddedCorpus.language("nl");
        CharTokenizer tok = CharTokenizer.fit(en, nl);
        GptConfig b = GptConfig.baby(tok.vocabSize());
        GptConfig cfg = new GptConfig(b.vocabSize(), b.blockSize(), b.layers(), b.heads(), b.nEmbd(), 0.0, true, b.activation(), b.layerNormEps());
        Trainer.Options o = Trainer.Options.baby().withSeed(SEED).withBatch(BATCH).withSchedule(1e-3, 1e-4, PRETRAIN / 5, PRETRAIN)
                .withEval(0, 1).withLog(0);
        t = System.nanoTime();
        Trainer pre = Trainer.create(cfg, tok, en, o);
        pre.run(PRETRAIN, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), null, false);
        Map<String, Tensor> weights = new LinkedHashMap<>();
        pre.model().stateDict().forEach((k, v) -> weights.put(k, v.copy()));
        log.printf(Locale.ROOT, "char GPT (%d layers, n_embd %d, block %d, vocab %d, %,d parameters) pretrained on English for %d steps in %.1f s%n",
                cfg.layers(), cfg.nEmbd(), cfg.blockSize(), cfg.vocabSize(), pre.model().numParameters(false), PRETRAIN, (System.nanoTime() - t) / 1e9);

        // 3. VeRA on Dutch: two replicas in a barrier stage, and one machine, on the same global batches
        DataParallel.PeftSpec vera = () -> PeftConfig.vera(64, 0, TARGETS).seed(SEED).build();
        DataParallel.Job job = new DataParallel.Job(DataParallel.gpt(cfg, weights, vera), tok.encode(TextSplit.of(nl).train()), BATCH, cfg.blockSize(),
                BATCH_SEED, STEPS, 1e-2, 0.0, 1.0, CHECKPOINT_EVERY);
        DataParallel.Result dp = DataParallel.train(spark, job, 2, out.resolve("checkpoint"), 2, log);
        DataParallel.Result one = DataParallel.trainOneMachine(job);
        dp.savePeft(out.resolve("adapter"));
        long tokens = (long) STEPS * BATCH * cfg.blockSize();
        long veraN = count(dp.model()), loraN = count(PeftModel.wrap(new Gpt(cfg, SEED), PeftConfig.lora(8, 16, TARGETS).seed(SEED).build()));
        log.printf(Locale.ROOT, "VeRA r=64 on %s: %,d trainable floats, %d steps of %d windows x %d tokens (lr 1e-2, clip 1.0), a barrier job and checkpoint every %d steps%n",
                String.join(", ", TARGETS), veraN, STEPS, BATCH, cfg.blockSize(), CHECKPOINT_EVERY);
        log.printf(Locale.ROOT, "throughput: data-parallel (2 replicas) %.0f tokens/s (%.1f s), one machine %.0f tokens/s (%.1f s)%n",
                tokens / dp.trainSeconds(), dp.trainSeconds(), tokens / one.trainSeconds(), one.trainSeconds());
        log.printf(Locale.ROOT, "allGather per step: each replica sends %,d bytes (VeRA, measured) and receives 2x that; LoRA r=8 on the same targets "
                + "(%,d floats) would send %,d bytes%n", dp.bytesSentPerReplicaPerStep(), loraN, messageBytes(loraN));
        log.println("step | loss data-parallel | loss one machine");
        for (int i = 0; i < STEPS; i++)
            if (i == 0 || (i + 1) % 5 == 0) log.printf(Locale.ROOT, "%4d | %18.4f | %16.4f%n", i + 1, dp.losses()[i], one.losses()[i]);
        log.println("wrote the PEFT adapter to " + out.resolve("adapter") + " (checkpoints in " + out.resolve("checkpoint") + ")");
        log.println("embeddings equal to one machine: " + (equal ? "yes" : "no"));
        log.printf(Locale.ROOT, "final loss data-parallel: %.4f one machine: %.4f%n", dp.losses()[STEPS - 1], one.losses()[STEPS - 1]);
    }

    /** The first {@code n} non-blank lines of the embedded English Europarl text. */
    static List<String> passages(int n) {
        List<String> out = new ArrayList<>(n);
        for (String l : EmbeddedCorpus.language("en").split("\n")) {
            if (out.size() == n) break;
            if (!l.isBlank()) out.add(l.strip());
        }
        return out;
    }

    static long count(PeftModel pm) {
        long n = 0;
        for (var p : DataParallel.trainable(pm).values()) n += p.numel();
        return n;
    }

    /** What one replica sends per step for {@code n} trainable floats: the loss, '|', Base64 of 4n bytes (the loss's text taken as 20 chars). */
    static long messageBytes(long n) {
        return 20 + 1 + 4 * ((4 * n + 2) / 3);
    }
}
