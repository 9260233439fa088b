package dev.vectorgrad.spark;

import org.apache.spark.sql.SparkSession;

/** One {@code local[2]} session for every test class of the module (starting Spark costs seconds). */
final class LocalSpark {
    private LocalSpark() {}

    private static final class Holder {
        static final SparkSession SESSION = SparkSession.builder().master("local[2]").appName("vectorgrad-spark-tests")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    static SparkSession session() {
        return Holder.SESSION;
    }
}
