package dev.vectorgrad.tensor;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) parser and writer, for safetensors headers and {@code config.json} files.
 *
 * <p>Parsing maps JSON to plain Java values: object → {@code LinkedHashMap<String, Object>} (keys in document
 * order), array → {@code ArrayList<Object>}, string → {@code String}, {@code true}/{@code false} →
 * {@code Boolean}, {@code null} → {@code null}, and a number → {@code Long} when it is written as an integer
 * (no fraction, no exponent) that fits in a long, {@code BigInteger} for a larger integer, otherwise
 * {@code Double}. Strictness: no comments, no trailing commas, no single quotes, no leading zeros, no
 * {@code NaN}/{@code Infinity}, no raw control characters in strings, no duplicate keys in an object, nothing but
 * whitespace after the value, at most {@value #MAX_DEPTH} levels of nesting. Errors are {@link JsonException}s
 * that give the offset, line and column.
 *
 * <p>Writing accepts the types above plus any {@link Number}, {@link Collection}, {@code Map} with String keys,
 * and primitive or object arrays. Non-finite numbers are rejected. {@link #writePretty} indents by two spaces
 * like Python's {@code json.dumps(indent=2)}.
 */
public final class Json {
    /** The deepest nesting of arrays and objects that {@link #parse} accepts. */
    public static final int MAX_DEPTH = 512;

    /**
     * The most digits an integer may have (Python's {@code sys.int_max_str_digits}): {@code BigInteger}'s parse is
     * quadratic, so a megabyte of digits in a header would otherwise take a minute.
     */
    public static final int MAX_INTEGER_DIGITS = 4300;

    private Json() {}

    /** A JSON syntax error, with where it happened. */
    public static final class JsonException extends IllegalArgumentException {
        private final int offset, line, column;

        JsonException(String message, int offset, int line, int column) {
            super(message + " at line " + line + ", column " + column + " (offset " + offset + ")");
            this.offset = offset;
            this.line = line;
            this.column = column;
        }

        /** Index of the offending character in the text. */
        public int offset() {
            return offset;
        }

        /** 1-based line of the offending character. */
        public int line() {
            return line;
        }

        /** 1-based column of the offending character. */
        public int column() {
            return column;
        }
    }

    // ================================================================ parsing

    /** Parses one JSON value (with optional surrounding whitespace). */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos < text.length()) throw p.error("unexpected " + p.describe(p.pos) + " after the JSON value");
        return v;
    }

    /** Parses UTF-8 bytes (invalid UTF-8 is an error; a byte-order mark is not accepted). */
    public static Object parse(byte[] utf8) {
        return parse(decodeUtf8(utf8));
    }

    /** Reads and parses a UTF-8 JSON file; errors name the file. */
    public static Object read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Strict UTF-8 decoding: malformed or unmappable input throws. */
    public static String decodeUtf8(byte[] utf8) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("text is not valid UTF-8: " + e);
        }
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) {
            this.s = s;
        }

        JsonException error(String msg) {
            return errorAt(msg, pos);
        }

        JsonException errorAt(String msg, int at) {
            int line = 1, col = 1;
            for (int i = 0; i < at && i < s.length(); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return new JsonException(msg, at, line, col);
        }

        String describe(int at) {
            if (at >= s.length()) return "end of input";
            char c = s.charAt(at);
            if (c < 0x20 || c == 0x7F) return String.format("character U+%04X", (int) c);
            return "'" + c + "'";
        }

        void skipWs() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
                else break;
            }
        }

        Object value(int depth) {
            if (pos >= s.length()) throw error("unexpected end of input, expected a value");
            char c = s.charAt(pos);
            switch (c) {
                case '{': return object(depth + 1);
                case '[': return array(depth + 1);
                case '"': return string();
                case 't': literal("true"); return Boolean.TRUE;
                case 'f': literal("false"); return Boolean.FALSE;
                case 'n': literal("null"); return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw error("unexpected " + describe(pos) + ", expected a value");
            }
        }

        void literal(String word) {
            if (!s.startsWith(word, pos)) throw error("invalid literal, expected '" + word + "'");
            pos += word.length();
        }

        Map<String, Object> object(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
            pos++; // {
            Map<String, Object> m = new LinkedHashMap<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != '"')
                    throw error("unexpected " + describe(pos) + ", expected a string key");
                int keyPos = pos;
                String key = string();
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != ':') throw error("unexpected " + describe(pos) + ", expected ':'");
                pos++;
                skipWs();
                Object v = value(depth);
                if (m.containsKey(key)) throw errorAt("duplicate key \"" + key + "\"", keyPos);
                m.put(key, v);
                skipWs();
                if (pos >= s.length()) throw error("unexpected end of input, expected ',' or '}'");
                char c = s.charAt(pos++);
                if (c == '}') return m;
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + ", expected ',' or '}'");
                }
            }
        }

        List<Object> array(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
            pos++; // [
            List<Object> a = new ArrayList<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return a;
            }
            while (true) {
                skipWs();
                a.add(value(depth));
                skipWs();
                if (pos >= s.length()) throw error("unexpected end of input, expected ',' or ']'");
                char c = s.charAt(pos++);
                if (c == ']') return a;
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + ", expected ',' or ']'");
                }
            }
        }

        String string() {
            int start = pos;
            pos++; // opening quote
            StringBuilder b = null;
            int runStart = pos;
            while (true) {
                if (pos >= s.length()) throw errorAt("unterminated string", start);
                char c = s.charAt(pos);
                if (c == '"') {
                    String out = b == null ? s.substring(runStart, pos) : b.append(s, runStart, pos).toString();
                    pos++;
                    return out;
                }
                if (c < 0x20) throw error("unescaped control character U+" + String.format("%04X", (int) c) + " in string");
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (b == null) b = new StringBuilder();
                b.append(s, runStart, pos);
                pos++;
                if (pos >= s.length()) throw errorAt("unterminated string", start);
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) throw errorAt("truncated \\u escape", pos - 2);
                        int cp = 0;
                        for (int i = 0; i < 4; i++) {
                            int d = Character.digit(s.charAt(pos + i), 16);
                            if (d < 0 || s.charAt(pos + i) > 'f') throw errorAt("invalid hex digit in \\u escape", pos + i);
                            cp = cp * 16 + d;
                        }
                        pos += 4;
                        b.append((char) cp); // surrogate pairs come out as two chars, as in UTF-16
                    }
                    default -> throw errorAt("invalid escape '\\" + e + "'", pos - 2);
                }
                runStart = pos;
            }
        }

        Object number() {
            int start = pos;
            boolean integral = true;
            if (s.charAt(pos) == '-') pos++;
            if (pos >= s.length() || !isDigit(s.charAt(pos))) throw error("invalid number: expected a digit");
            if (s.charAt(pos) == '0') {
                pos++;
                if (pos < s.length() && isDigit(s.charAt(pos))) throw error("invalid number: leading zero");
            } else {
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            }
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                if (pos >= s.length() || !isDigit(s.charAt(pos))) throw error("invalid number: expected a digit after '.'");
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
                if (pos >= s.length() || !isDigit(s.charAt(pos))) throw error("invalid number: expected a digit in the exponent");
                while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
            }
            String lit = s.substring(start, pos);
            if (integral) {
                if (lit.length() <= 18) return Long.parseLong(lit);
                int digits = lit.length() - (lit.charAt(0) == '-' ? 1 : 0);
                if (digits > MAX_INTEGER_DIGITS)
                    throw errorAt("integer of " + digits + " digits is longer than the limit of " + MAX_INTEGER_DIGITS + " digits", start);
                BigInteger big = new BigInteger(lit);
                return big.bitLength() < 64 ? (Object) big.longValue() : big;
            }
            double d = Double.parseDouble(lit);
            if (Double.isInfinite(d)) throw errorAt("number " + shorten(lit) + " is out of the range of a double", start);
            return d;
        }

        /** A literal for a message: itself, or its first 40 characters and its length. */
        static String shorten(String lit) {
            return lit.length() <= 60 ? lit : lit.substring(0, 40) + "… (" + lit.length() + " characters)";
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }
    }

    // ================================================================ typed access helpers

    /** {@code value} as a JSON object, or an error naming {@code what}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> asMap(Object value, String what) {
        if (value instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException(what + ": expected a JSON object, got " + typeName(value));
    }

    /** {@code value} as a JSON array, or an error naming {@code what}. */
    @SuppressWarnings("unchecked")
    public static List<Object> asList(Object value, String what) {
        if (value instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException(what + ": expected a JSON array, got " + typeName(value));
    }

    /** {@code value} as a string, or an error naming {@code what}. */
    public static String asString(Object value, String what) {
        if (value instanceof String str) return str;
        throw new IllegalArgumentException(what + ": expected a string, got " + typeName(value));
    }

    /** {@code value} as a boolean, or an error naming {@code what}. */
    public static boolean asBoolean(Object value, String what) {
        if (value instanceof Boolean bool) return bool;
        throw new IllegalArgumentException(what + ": expected true or false, got " + typeName(value));
    }

    /** {@code value} as a double (any JSON number), or an error naming {@code what}. */
    public static double asDouble(Object value, String what) {
        if (value instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException(what + ": expected a number, got " + typeName(value));
    }

    /** {@code value} as a long: an integer, or a number with an integral value that fits; else an error. */
    public static long asLong(Object value, String what) {
        if (value instanceof Long l) return l;
        if (value instanceof Integer i) return i;
        if (value instanceof Number n) {
            double d = n.doubleValue();
            if (n instanceof Double && d == Math.rint(d) && Math.abs(d) < 0x1p63) return (long) d;
            throw new IllegalArgumentException(what + ": expected an integer that fits in a long, got " + n);
        }
        throw new IllegalArgumentException(what + ": expected an integer, got " + typeName(value));
    }

    /** {@code value} as an int, or an error naming {@code what}. */
    public static int asInt(Object value, String what) {
        long l = asLong(value, what);
        if (l != (int) l) throw new IllegalArgumentException(what + ": " + l + " does not fit in an int");
        return (int) l;
    }

    static String typeName(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String str) return "the string \"" + (str.length() > 40 ? str.substring(0, 40) + "…" : str) + "\"";
        if (v instanceof Boolean) return v.toString();
        if (v instanceof Number) return "the number " + v;
        return v.getClass().getSimpleName();
    }

    // ================================================================ writing

    /** Compact JSON text for {@code value}. */
    public static String write(Object value) {
        StringBuilder b = new StringBuilder();
        new Writer(b, null).value(value, 0);
        return b.toString();
    }

    /** JSON text indented by two spaces per level (Python's {@code json.dumps(indent=2)} layout). */
    public static String writePretty(Object value) {
        StringBuilder b = new StringBuilder();
        new Writer(b, "  ").value(value, 0);
        return b.toString();
    }

    /** {@code value} as a JSON string literal, quotes included. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        Writer.string(b, s);
        return b.toString();
    }

    private record Writer(StringBuilder b, String indent) {
        void newline(int depth) {
            if (indent == null) return;
            b.append('\n');
            for (int i = 0; i < depth; i++) b.append(indent);
        }

        void value(Object v, int depth) {
            if (depth > MAX_DEPTH) throw new IllegalArgumentException("Json.write: nesting deeper than " + MAX_DEPTH + " (a cycle?)");
            if (v == null) b.append("null");
            else if (v instanceof String str) string(b, str);
            else if (v instanceof Character ch) string(b, ch.toString());
            else if (v instanceof Boolean bool) b.append(bool.booleanValue());
            else if (v instanceof Number n) number(n);
            else if (v instanceof Map<?, ?> m) map(m, depth);
            else if (v instanceof Collection<?> c) list(c, depth);
            else if (v instanceof Object[] a) list(java.util.Arrays.asList(a), depth);
            else if (v.getClass().isArray()) {
                int n = java.lang.reflect.Array.getLength(v);
                List<Object> l = new ArrayList<>(n);
                for (int i = 0; i < n; i++) l.add(java.lang.reflect.Array.get(v, i));
                list(l, depth);
            } else throw new IllegalArgumentException("Json.write: cannot write a " + v.getClass().getName());
        }

        void number(Number n) {
            if (n instanceof Double || n instanceof Float) {
                double d = n.doubleValue();
                if (!Double.isFinite(d)) throw new IllegalArgumentException("Json.write: " + d + " is not a JSON number");
                b.append(n instanceof Float f ? Float.toString(f) : Double.toString(d));
            } else if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte
                    || n instanceof BigInteger || n instanceof BigDecimal) {
                b.append(n);
            } else {
                double d = n.doubleValue();
                if (!Double.isFinite(d)) throw new IllegalArgumentException("Json.write: " + d + " is not a JSON number");
                b.append(Double.toString(d));
            }
        }

        void map(Map<?, ?> m, int depth) {
            if (m.isEmpty()) {
                b.append("{}");
                return;
            }
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key))
                    throw new IllegalArgumentException("Json.write: object keys must be strings, got " + e.getKey());
                if (!first) b.append(',');
                first = false;
                newline(depth + 1);
                string(b, key);
                b.append(indent == null ? ":" : ": ");
                value(e.getValue(), depth + 1);
            }
            newline(depth);
            b.append('}');
        }

        void list(Collection<?> c, int depth) {
            if (c.isEmpty()) {
                b.append("[]");
                return;
            }
            b.append('[');
            boolean first = true;
            for (Object o : c) {
                if (!first) b.append(',');
                first = false;
                newline(depth + 1);
                value(o, depth + 1);
            }
            newline(depth);
            b.append(']');
        }

        static void string(StringBuilder b, String s) {
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    case '\b' -> b.append("\\b");
                    case '\f' -> b.append("\\f");
                    default -> {
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                    }
                }
            }
            b.append('"');
        }
    }
}
