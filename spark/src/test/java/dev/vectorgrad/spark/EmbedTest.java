package dev.vectorgrad.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.encoder.EmbedCommand;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.data.EmbeddedCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedTest {
    /** Passages of the embedded Europarl text, one per line, with an empty one and a repeated one. */
    static List<String> passages(int n) {
        List<String> out = new ArrayList<>();
        for (String l : EmbeddedCorpus.language("en", 40_000).split("\n")) {
            if (out.size() == n) break;
            if (!l.isBlank()) out.add(l.strip());
        }
        out.set(3, "");
        out.set(7, out.get(1));
        return out;
    }

    @Test
    void theEmbeddingColumnEqualsVectorgradEmbedRowForRow(@TempDir Path tmp) throws Exception {
        List<String> texts = passages(45);
        // ./vectorgrad embed on this machine: the command's own code, its own file
        Path in = tmp.resolve("lines.txt"), outFile = tmp.resolve("e.safetensors");
        Files.write(in, texts, StandardCharsets.UTF_8);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(EmbedCommand.run(new String[] {"--inputs", in.toString(), "--out", outFile.toString()}, quiet, quiet)).isZero();
        Tensor expected = Safetensors.readAll(outFile).get("embeddings");

        SparkSession spark = LocalSpark.session();
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, true);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create(i, texts.get(i)));
        rows.add(RowFactory.create(texts.size(), null));
        // three partitions on two cores, and batches of 8 rows: each row meets other neighbours than in the one call above
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(3);
        Dataset<Row> withE = VectorgradSpark.embed(df, "text", 8);
        assertThat(withE.schema().apply("embedding").dataType()).isEqualTo(DataTypes.createArrayType(DataTypes.FloatType, false));
        List<Row> got = withE.collectAsList();
        assertThat(got).hasSize(texts.size() + 1);
        int dim = expected.size(1);
        double worst = 0;
        for (Row r : got) {
            int id = r.getInt(0);
            if (id == texts.size()) {
                assertThat(r.isNullAt(2)).as("a null text has a null embedding").isTrue();
                continue;
            }
            assertThat(r.getString(1)).isEqualTo(texts.get(id));
            List<Float> e = r.getList(2);
            assertThat(e).hasSize(dim);
            for (int j = 0; j < dim; j++) worst = Math.max(worst, Math.abs(e.get(j) - expected.get(id, j)));
        }
        System.out.printf("spark embed vs vectorgrad embed: max |diff| %.3g over %d rows%n", worst, texts.size());
        assertThat(worst).isLessThanOrEqualTo(1e-6);
    }

    @Test
    void aMissingOrNonStringColumnIsNamed() {
        SparkSession spark = LocalSpark.session();
        Dataset<Row> df = spark.createDataFrame(List.of(RowFactory.create(1, "a")),
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType));
        assertThatThrownBy(() -> VectorgradSpark.embed(df, "body")).hasMessageContaining("no column 'body'");
        assertThatThrownBy(() -> VectorgradSpark.embed(df, "id")).hasMessageContaining("column 'id' is int, not string");
        assertThatThrownBy(() -> VectorgradSpark.embed(df.withColumnRenamed("id", "embedding"), "text")).hasMessageContaining("has a column 'embedding'");
    }
}
