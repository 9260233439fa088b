package dev.vectorgrad.spark;

import dev.vectorgrad.encoder.MiniLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * vectorgrad on a Spark cluster: {@link #embed} adds an all-MiniLM-L6-v2 {@code embedding} column to a
 * DataFrame. Nothing native runs on the executors: the model is the encoder module's pure-Java BERT, loaded once
 * per executor JVM from the class path (the shaded jar carries its weights), and each partition is embedded in
 * batches of {@link #DEFAULT_BATCH} rows.
 */
public final class VectorgradSpark {
    /** The column {@link #embed} adds. */
    public static final String EMBEDDING = "embedding";
    /** Rows per {@link MiniLm#embed} call on an executor (MiniLm sorts each call's texts by length and pads per batch of 32). */
    public static final int DEFAULT_BATCH = 256;

    private VectorgradSpark() {}

    /** {@code df} with an {@code embedding} column ({@code array<float>}, 384 values, unit length; null where the text is null). */
    public static Dataset<Row> embed(Dataset<Row> df, String textColumn) {
        return embed(df, textColumn, DEFAULT_BATCH);
    }

    /** As {@link #embed(Dataset, String)}, embedding {@code batch} rows per call on the executors. */
    public static Dataset<Row> embed(Dataset<Row> df, String textColumn, int batch) {
        if (batch < 1) throw new IllegalArgumentException("VectorgradSpark.embed: batch must be positive, got " + batch);
        StructType in = df.schema();
        int col = Arrays.asList(in.fieldNames()).indexOf(textColumn);
        if (col < 0)
            throw new IllegalArgumentException("VectorgradSpark.embed: no column '" + textColumn + "' in " + in.simpleString());
        if (!(in.fields()[col].dataType() instanceof StringType))
            throw new IllegalArgumentException("VectorgradSpark.embed: column '" + textColumn + "' is " + in.fields()[col].dataType().simpleString()
                    + ", not string");
        if (Arrays.asList(in.fieldNames()).contains(EMBEDDING))
            throw new IllegalArgumentException("VectorgradSpark.embed: the frame has a column '" + EMBEDDING + "' already");
        StructType out = in.add(new StructField(EMBEDDING, DataTypes.createArrayType(DataTypes.FloatType, false), true,
                org.apache.spark.sql.types.Metadata.empty()));
        return df.mapPartitions(new EmbedPartition(col, batch), Encoders.row(out));
    }

    /** The executor JVM's model: loaded on first use (the class's initialisation), shared by its task threads. */
    static final class ExecutorModel {
        static final MiniLm MODEL = MiniLm.load();

        private ExecutorModel() {}
    }

    /**
     * One batch at a time per executor JVM: the engine's kernels already spread one forward pass over all the
     * executor's cores, so concurrent tasks would only compete for them (and double the activations held).
     */
    static float[][] embedOne(List<String> texts) {
        MiniLm m = ExecutorModel.MODEL;
        synchronized (m) {
            return m.embed(texts);
        }
    }

    /** Embeds one partition, {@code batch} rows at a time, appending the embedding to each row. */
    record EmbedPartition(int column, int batch) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return new Iterator<>() {
                private Iterator<Row> ready = java.util.Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    if (!ready.hasNext() && rows.hasNext()) ready = next(rows).iterator();
                    return ready.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) throw new NoSuchElementException();
                    return ready.next();
                }

                private List<Row> next(Iterator<Row> source) {
                    List<Row> chunk = new ArrayList<>(batch);
                    List<String> texts = new ArrayList<>(batch);
                    while (source.hasNext() && chunk.size() < batch) {
                        Row r = source.next();
                        chunk.add(r);
                        if (!r.isNullAt(column)) texts.add(r.getString(column));
                    }
                    float[][] e = texts.isEmpty() ? new float[0][] : embedOne(texts);
                    List<Row> done = new ArrayList<>(chunk.size());
                    int k = 0;
                    for (Row r : chunk) {
                        Object[] v = new Object[r.length() + 1];
                        for (int i = 0; i < r.length(); i++) v[i] = r.get(i);
                        v[r.length()] = r.isNullAt(column) ? null : e[k++];
                        done.add(RowFactory.create(v));
                    }
                    return done;
                }
            };
        }
    }
}
