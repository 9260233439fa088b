package dev.vectorgrad.peft.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoTaskTest {
    static final PeftDemo.Plan TINY = new PeftDemo.Plan(60_000, 2, 6, 2, 1, 1);

    @Test
    void aCachedPretrainedModelIsTheTrainedOneBitForBit(@TempDir Path cache) throws Exception {
        ByteArrayOutputStream first = new ByteArrayOutputStream(), second = new ByteArrayOutputStream();
        DemoTask a = DemoTask.pretrained(TINY, cache, new PrintStream(first, true, StandardCharsets.UTF_8));
        DemoTask b = DemoTask.pretrained(TINY, cache, new PrintStream(second, true, StandardCharsets.UTF_8));
        assertThat(first.toString(StandardCharsets.UTF_8)).contains("saved to").doesNotContain("read from");
        assertThat(second.toString(StandardCharsets.UTF_8)).contains("read from").doesNotContain("val loss:"); // no training the second time
        assertThat(b.weights().keySet()).containsExactlyElementsOf(a.weights().keySet());
        for (String k : a.weights().keySet()) {
            Tensor x = a.weights().get(k), y = b.weights().get(k);
            assertThat(y.toArray()).as(k).containsExactly(x.toArray());
        }
        assertThat(b.targetLoss()).isEqualTo(a.targetLoss());
        assertThat(b.sourceLoss()).isEqualTo(a.sourceLoss());
        assertThat(first.toString(StandardCharsets.UTF_8)).startsWith("vectorgrad PEFT demo: ").contains(", 2 steps per method, batch 2");
        // analyze's header names analyze and its own budget, not the demo's
        ByteArrayOutputStream third = new ByteArrayOutputStream();
        DemoTask.pretrained(TINY, "vectorgrad analyze", "3 steps per run", cache, new PrintStream(third, true, StandardCharsets.UTF_8));
        assertThat(third.toString(StandardCharsets.UTF_8)).startsWith("vectorgrad analyze: ").contains(", 3 steps per run, batch 2")
                .doesNotContain("per method").contains("read from");
        // the cached folder is a model folder that `--model` reads
        DemoTask c = DemoTask.of(cache.resolve(cache.toFile().list()[0]), writeText(cache), 2, 1, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(c.config()).isEqualTo(a.config());
    }

    static Path writeText(Path dir) throws Exception {
        Path f = dir.resolve("corpus.txt");
        java.nio.file.Files.writeString(f, "de vergadering wordt geopend om negen uur. ".repeat(200));
        return f;
    }
}
