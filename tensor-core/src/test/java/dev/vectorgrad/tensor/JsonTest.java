package dev.vectorgrad.tensor;

import dev.vectorgrad.testdata.TestData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Json.JsonException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonTest {

    @Test
    void parsesAllValueTypes() {
        Object v = Json.parse(" {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\", \"d\": -2.5e3, \"e\": {}, \"f\": []}\n");
        Map<String, Object> m = Json.asMap(v, "root");
        assertThat(m.keySet()).containsExactly("a", "b", "c", "d", "e", "f");
        assertThat(m.get("a")).isEqualTo(1L);
        assertThat(m.get("b")).isEqualTo(Arrays.asList(true, false, null));
        assertThat(m.get("c")).isEqualTo("x");
        assertThat(m.get("d")).isEqualTo(-2500.0);
        assertThat(m.get("e")).isEqualTo(Map.of());
        assertThat(m.get("f")).isEqualTo(List.of());
        assertThat(Json.parse("null")).isNull();
        assertThat(Json.parse("\"top\"")).isEqualTo("top");
    }

    @Test
    void numbers() {
        assertThat(Json.parse("0")).isEqualTo(0L);
        assertThat(Json.parse("-0")).isEqualTo(0L);
        assertThat(Json.parse("-0.0")).isEqualTo(-0.0);
        assertThat(Json.parse("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
        assertThat(Json.parse("-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
        assertThat(Json.parse("9223372036854775808")).isEqualTo(new BigInteger("9223372036854775808"));
        assertThat(Json.parse("1e-05")).isEqualTo(1e-5);
        assertThat(Json.parse("1E+2")).isEqualTo(100.0);
        assertThat(Json.parse("0.1")).isEqualTo(0.1);
        assertThat(Json.parse("123456789.25")).isEqualTo(123456789.25);
        assertThat(Json.parse("2.0")).isEqualTo(2.0);
        for (String bad : new String[] {"01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1e400", "--1"})
            assertThatThrownBy(() -> Json.parse(bad)).as(bad).isInstanceOf(JsonException.class);
    }

    @Test
    void stringEscapesAndUnicode() {
        assertThat(Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"")).isEqualTo("a\"b\\c/d\b\f\n\r\t");
        assertThat(Json.parse("\"\\u00e9\\u4e2D\"")).isEqualTo("é中");
        assertThat(Json.parse("\"\\ud83d\\ude00\"")).isEqualTo("😀");
        assertThat(Json.parse("\"raw é 中 😀\"")).isEqualTo("raw é 中 😀");
        assertThat(Json.parse("\"€ ✓\"".getBytes(StandardCharsets.UTF_8))).isEqualTo("€ ✓");
        assertThatThrownBy(() -> Json.parse("\"a\nb\"")).isInstanceOf(JsonException.class).hasMessageContaining("control character");
        assertThatThrownBy(() -> Json.parse("\"\\x\"")).isInstanceOf(JsonException.class).hasMessageContaining("invalid escape");
        assertThatThrownBy(() -> Json.parse("\"\\u12G4\"")).isInstanceOf(JsonException.class).hasMessageContaining("hex");
        assertThatThrownBy(() -> Json.parse("\"\\u12\"")).isInstanceOf(JsonException.class);
        assertThatThrownBy(() -> Json.parse("\"abc")).isInstanceOf(JsonException.class).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> Json.parse(new byte[] {'"', (byte) 0xC3, '"'})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("UTF-8");
    }

    @Test
    void writesEscapesAndRoundTrips() {
        String s = "q\" b\\ nl\n tab\t ctl\u0001 del\u007f é 中 😀 /";
        String w = Json.write(s);
        assertThat(w).isEqualTo("\"q\\\" b\\\\ nl\\n tab\\t ctl\\u0001 del\u007f é 中 😀 /\"");
        assertThat(Json.parse(w)).isEqualTo(s);
        assertThat(Json.quote("a\"b")).isEqualTo("\"a\\\"b\"");
    }

    @Test
    void roundTripsNestedValues() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("int", 42L);
        m.put("neg", -7L);
        m.put("double", 0.1);
        m.put("tiny", 1e-5);
        m.put("big", 1.5e300);
        m.put("whole", 3.0);
        m.put("bool", true);
        m.put("null", null);
        m.put("list", new ArrayList<>(Arrays.asList(1L, "two", 3.5, List.of(), Map.of())));
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("k", List.of(List.of(1L, 2L), List.of()));
        m.put("obj", inner);
        for (String text : new String[] {Json.write(m), Json.writePretty(m)}) {
            Object back = Json.parse(text);
            assertThat(back).isEqualTo(m);
            assertThat(Json.write(back)).isEqualTo(Json.write(m));
        }
        assertThat(Json.write(m)).startsWith("{\"int\":42,\"neg\":-7,\"double\":0.1,");
    }

    @Test
    void prettyLayoutLikePython() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", 1L);
        m.put("b", List.of("x", 2L));
        m.put("c", Map.of());
        assertThat(Json.writePretty(m)).isEqualTo("{\n  \"a\": 1,\n  \"b\": [\n    \"x\",\n    2\n  ],\n  \"c\": {}\n}");
    }

    @Test
    void writesArraysAndRejectsWhatJsonCannotHold() {
        assertThat(Json.write(new int[] {1, 2})).isEqualTo("[1,2]");
        assertThat(Json.write(new long[] {3})).isEqualTo("[3]");
        assertThat(Json.write(new float[] {0.5f})).isEqualTo("[0.5]");
        assertThat(Json.write(new Object[] {null, "a"})).isEqualTo("[null,\"a\"]");
        assertThatThrownBy(() -> Json.write(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Json.write(List.of(Float.POSITIVE_INFINITY))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Json.write(Map.of(1, 2))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Json.write(new Object())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void structuralErrorsGivePositions() {
        JsonException e = (JsonException) catchIt("{\n  \"a\": 1,\n  \"b\" 2\n}");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(7);
        assertThat(e.offset()).isEqualTo(18);
        assertThat(e.getMessage()).contains("expected ':'").contains("line 3, column 7");

        assertThat(catchIt("[1, 2,]").getMessage()).contains("expected a value").contains("column 7");
        assertThat(catchIt("{\"a\":1,}").getMessage()).contains("expected a string key");
        assertThat(catchIt("[1 2]").getMessage()).contains("expected ',' or ']'");
        assertThat(catchIt("{\"a\":1 \"b\":2}").getMessage()).contains("expected ',' or '}'");
        assertThat(catchIt("[1] x").getMessage()).contains("after the JSON value");
        assertThat(catchIt("").getMessage()).contains("end of input");
        assertThat(catchIt("[").getMessage()).contains("end of input");
        assertThat(catchIt("{'a': 1}").getMessage()).contains("expected a string key");
        assertThat(catchIt("// c\n1").getMessage()).contains("expected a value");
        assertThat(catchIt("tru").getMessage()).contains("true");
        assertThat(catchIt("nul").getMessage()).contains("null");
        assertThat(catchIt("\uFEFF{}").getMessage()).contains("expected a value");
        JsonException dup = (JsonException) catchIt("{\"a\": 1, \"a\": 2}");
        assertThat(dup.getMessage()).contains("duplicate key \"a\"");
        assertThat(dup.column()).isEqualTo(10);
    }

    @Test
    void nestingIsLimited() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertThat(Json.parse(ok)).isInstanceOf(List.class);
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertThat(catchIt(deep).getMessage()).contains("nesting deeper");
    }

    @Test
    void typedAccessors() {
        Map<String, Object> m = Json.asMap(Json.parse("{\"n\": 768, \"eps\": 1e-05, \"f\": 2.0, \"h\": 2.5, \"s\": \"x\", \"b\": true, \"big\": 3000000000}"), "cfg");
        assertThat(Json.asInt(m.get("n"), "n")).isEqualTo(768);
        assertThat(Json.asDouble(m.get("eps"), "eps")).isEqualTo(1e-5);
        assertThat(Json.asLong(m.get("f"), "f")).isEqualTo(2L);
        assertThat(Json.asString(m.get("s"), "s")).isEqualTo("x");
        assertThat(Json.asBoolean(m.get("b"), "b")).isTrue();
        assertThat(Json.asLong(m.get("big"), "big")).isEqualTo(3_000_000_000L);
        assertThatThrownBy(() -> Json.asInt(m.get("big"), "big")).hasMessageContaining("big").hasMessageContaining("int");
        assertThatThrownBy(() -> Json.asLong(m.get("h"), "h")).hasMessageContaining("h:");
        assertThatThrownBy(() -> Json.asString(m.get("n"), "n")).hasMessageContaining("n: expected a string");
        assertThatThrownBy(() -> Json.asList(m, "cfg")).hasMessageContaining("cfg: expected a JSON array, got an object");
    }

    @Test
    void readsConfigFilesAndNamesTheFileOnError(@TempDir Path dir) throws Exception {
        Map<String, Object> cfg = Json.asMap(Json.read(TestData.hf("gpt2-small-base/model/config.json")), "config");
        assertThat(Json.asInt(cfg.get("n_embd"), "n_embd")).isEqualTo(32);
        assertThat(Json.asDouble(cfg.get("layer_norm_epsilon"), "eps")).isEqualTo(1e-5);
        assertThat(cfg.get("n_inner")).isNull();
        assertThat(cfg.get("architectures")).isEqualTo(List.of("GPT2LMHeadModel"));
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"a\": }");
        assertThatThrownBy(() -> Json.read(bad)).hasMessageContaining("bad.json").hasMessageContaining("column 7");
    }

    private static RuntimeException catchIt(String text) {
        try {
            Json.parse(text);
        } catch (JsonException e) {
            return e;
        }
        throw new AssertionError("no error for: " + (text.length() > 50 ? text.substring(0, 50) + "…" : text));
    }

    // ---------------------------------------------------------------- regressions found by JsonFuzzTest

    /** A megabyte of digits took about a minute (BigInteger's parse is quadratic): now refused at once. */
    @Test
    void hugeIntegerIsRefusedNotParsedInQuadraticTime() {
        String big = "7".repeat(1_000_000);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> Json.parse("[" + big + "]")).isInstanceOf(JsonException.class)
                .hasMessageContaining("integer of 1000000 digits is longer than the limit of 4300 digits");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(1.0);
        assertThat(Json.parse("-" + "9".repeat(Json.MAX_INTEGER_DIGITS))).isEqualTo(new BigInteger("-" + "9".repeat(Json.MAX_INTEGER_DIGITS)));
    }

    /** The error for an out-of-range double quoted the whole literal (100 kB of message): now its start and length. */
    @Test
    void errorMessageShortensAHugeNumber() {
        String big = "7".repeat(100_000) + ".5";
        assertThatThrownBy(() -> Json.parse(big)).isInstanceOf(JsonException.class)
                .hasMessageContaining("7".repeat(40) + "… (100002 characters) is out of the range of a double")
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(200));
    }
}
