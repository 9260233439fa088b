package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions of checkpoint loading that {@link CheckpointFuzzTest} found (issue 12 §5): each was a
 * ClassCastException, NullPointerException, NumberFormatException or MalformedInputException, or a message that
 * did not say which file was wrong.
 */
class CheckpointReadRegressionTest {
    static Path checkpoint(Path tmp) {
        return TinyCheckpoint.write(tmp.resolve("ck"));
    }

    static void edit(Path file, java.util.function.Consumer<Map<String, Object>> change) throws Exception {
        Map<String, Object> m = Json.asMap(Json.read(file), file.toString());
        change.accept(m);
        Files.writeString(file, Json.write(m));
    }

    @Test
    void gptJsonWithAWrongTypeNamesTheFileNotAClassCast(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("gpt.json"), m -> m.put("n_embd", "8"));
        assertThatThrownBy(() -> Trainer.loadModel(ck)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt.json: n_embd: expected an integer, got the string \"8\"");
    }

    @Test
    void gptJsonWithAMissingKeyNamesTheFileNotANullPointer(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("gpt.json"), m -> m.remove("bias"));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt.json: bias: expected true or false, got null");
    }

    @Test
    void invalidGptConfigValuesNameTheFile(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("gpt.json"), m -> m.put("dropout", -1.0));
        assertThatThrownBy(() -> Trainer.loadModel(ck)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt.json: GptConfig: dropout must be in [0, 1), got -1.0");
    }

    @Test
    void trainerJsonWithoutOptionsNamesTheFileNotANullPointer(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("trainer.json"), m -> m.remove("options"));
        assertThatThrownBy(() -> Trainer.readOptions(ck)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trainer.json: options: expected a JSON object, got null");
    }

    @Test
    void outOfRangeOptionsNameTheFileAndKey(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("trainer.json"), m -> Json.asMap(m.get("options"), "options").put("beta1", 9.2e18));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trainer.json: options.beta1 must be in [0, 1), got 9.2E18");
    }

    @Test
    void generatorStateThatIsNotALongNamesTheFileNotANumberFormat(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("trainer.json"), m -> m.put("batch_rng", List.of("1", "2", "3", "4", "5", "6", "1.0E-300")));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(NumberFormatException.class)
                .hasMessageContaining("trainer.json: batch_rng[6]: \"1.0E-300\" is not a 64-bit integer");
        edit(ck.resolve("trainer.json"), m -> m.put("batch_rng", List.of("1", "2")));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trainer.json: Rng.restore: a snapshot has 7 longs, got 2");
    }

    @Test
    void lossHistoryOfTheWrongTypeNamesTheFileNotAClassCast(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        edit(ck.resolve("trainer.json"), m -> m.put("train_loss", List.of(Map.of())));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trainer.json: train_loss: expected a number, got an object");
    }

    @Test
    void checkpointJsonThatIsNotUtf8IsABadFileNotAnIoError(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        for (String f : new String[] {"gpt.json", "tokenizer.json", "trainer.json"}) {
            Path copy = Files.createDirectories(tmp.resolve("bad-" + f));
            try (var s = Files.list(ck)) {
                for (Path p : s.toList()) Files.copy(p, copy.resolve(p.getFileName()));
            }
            byte[] b = Files.readAllBytes(copy.resolve(f));
            b[2] = (byte) 0xFF;
            Files.write(copy.resolve(f), b);
            assertThatThrownBy(() -> Trainer.resume(copy, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(f).hasMessageContaining("not valid UTF-8");
        }
    }

    @Test
    void optimizerFileMissingMomentsNamesTheFile(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        var w = dev.vectorgrad.tensor.Safetensors.writer().metadata("step", "2");
        w.put("exp_avg.nothing", dev.vectorgrad.tensor.Tensor.zeros(1));
        w.write(ck.resolve("optimizer.safetensors"));
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("optimizer.safetensors: moments of 'transformer.wte.weight' are missing");
    }

    @Test
    void tokenizerThatDoesNotCoverTheCorpusNamesTheCheckpoint(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        Files.writeString(ck.resolve("tokenizer.json"), "{\"type\": \"char\", \"vocab\": [\"e\", \"h\", \"t\"]}");
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(ck.toString()).hasMessageContaining("is not in the vocabulary");
    }

    @Test
    void tokenizerLargerThanTheModelVocabularyIsRefused(@TempDir Path tmp) throws Exception {
        Path ck = checkpoint(tmp);
        StringBuilder vocab = new StringBuilder();
        for (int c = 'A'; c < 'A' + 60; c++) vocab.append(vocab.isEmpty() ? "" : ",").append(Json.quote(Character.toString(c)));
        Files.writeString(ck.resolve("tokenizer.json"), "{\"type\": \"char\", \"vocab\": [" + vocab + "]}");
        assertThatThrownBy(() -> Trainer.resume(ck, TinyCheckpoint.TEXT, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tokenizer.json: the tokenizer has 60 tokens but");
        assertThat(Trainer.loadModel(ck)).isNotNull(); // sampling reads no tokenizer here: the model alone loads
    }
}
