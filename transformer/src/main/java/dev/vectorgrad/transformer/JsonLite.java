package dev.vectorgrad.transformer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON reader and writer (RFC 8259) for the transformer module's small files: tokenizer JSON and
 * Hugging Face {@code config.json}. Values map to {@code Map<String,Object>} (insertion-ordered), {@code List<Object>},
 * {@code String}, {@code Long} or {@code Double}, {@code Boolean} and {@code null}.
 *
 * <p>Stand-in until tensor-core's {@code dev.vectorgrad.tensor.Json} (same value model) is on this branch; then this
 * class goes away. Internal: not part of the module's API.
 */
public final class JsonLite {
    private final String s;
    private int p;

    private JsonLite(String s) {
        this.s = s;
    }

    /** Parses one JSON value; anything but whitespace after it is an error. */
    public static Object parse(String text) {
        JsonLite r = new JsonLite(text);
        r.ws();
        Object v = r.value(0);
        r.ws();
        if (r.p != text.length()) throw r.error("unexpected text after the JSON value");
        return v;
    }

    private IllegalArgumentException error(String msg) {
        int line = 1, col = 1;
        for (int i = 0; i < Math.min(p, s.length()); i++) {
            if (s.charAt(i) == '\n') { line++; col = 1; } else col++;
        }
        return new IllegalArgumentException("JSON: " + msg + " at line " + line + ", column " + col);
    }

    private void ws() {
        while (p < s.length()) {
            char c = s.charAt(p);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p++; else break;
        }
    }

    private Object value(int depth) {
        if (depth > 256) throw error("nesting deeper than 256");
        if (p >= s.length()) throw error("unexpected end of input");
        char c = s.charAt(p);
        switch (c) {
            case '{': {
                p++;
                Map<String, Object> m = new LinkedHashMap<>();
                ws();
                if (peek('}')) { p++; return m; }
                while (true) {
                    ws();
                    if (!peek('"')) throw error("expected a string key");
                    String k = string();
                    ws();
                    expect(':');
                    ws();
                    if (m.containsKey(k)) throw error("duplicate key \"" + k + "\"");
                    m.put(k, value(depth + 1));
                    ws();
                    if (peek(',')) { p++; continue; }
                    expect('}');
                    return m;
                }
            }
            case '[': {
                p++;
                List<Object> l = new ArrayList<>();
                ws();
                if (peek(']')) { p++; return l; }
                while (true) {
                    ws();
                    l.add(value(depth + 1));
                    ws();
                    if (peek(',')) { p++; continue; }
                    expect(']');
                    return l;
                }
            }
            case '"':
                return string();
            case 't': literal("true"); return Boolean.TRUE;
            case 'f': literal("false"); return Boolean.FALSE;
            case 'n': literal("null"); return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
                throw error("unexpected character '" + c + "'");
        }
    }

    private boolean peek(char c) {
        return p < s.length() && s.charAt(p) == c;
    }

    private void expect(char c) {
        if (!peek(c)) throw error("expected '" + c + "'");
        p++;
    }

    private void literal(String w) {
        if (!s.startsWith(w, p)) throw error("expected " + w);
        p += w.length();
    }

    private Object number() {
        int start = p;
        if (peek('-')) p++;
        if (peek('0')) p++;
        else if (p < s.length() && s.charAt(p) >= '1' && s.charAt(p) <= '9') { while (p < s.length() && Character.isDigit(s.charAt(p))) p++; }
        else throw error("malformed number");
        boolean integral = true;
        if (peek('.')) {
            integral = false;
            p++;
            int d = p;
            while (p < s.length() && s.charAt(p) >= '0' && s.charAt(p) <= '9') p++;
            if (p == d) throw error("malformed number");
        }
        if (peek('e') || peek('E')) {
            integral = false;
            p++;
            if (peek('+') || peek('-')) p++;
            int d = p;
            while (p < s.length() && s.charAt(p) >= '0' && s.charAt(p) <= '9') p++;
            if (p == d) throw error("malformed number");
        }
        String t = s.substring(start, p);
        if (integral) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException e) {
                return Double.parseDouble(t);
            }
        }
        return Double.parseDouble(t);
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            if (p >= s.length()) throw error("unterminated string");
            char c = s.charAt(p++);
            if (c == '"') return b.toString();
            if (c < 0x20) throw error("control character in string");
            if (c != '\\') { b.append(c); continue; }
            if (p >= s.length()) throw error("unterminated string");
            char e = s.charAt(p++);
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
                    if (p + 4 > s.length()) throw error("short \\u escape");
                    try {
                        b.append((char) Integer.parseInt(s.substring(p, p + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw error("bad \\u escape");
                    }
                    p += 4;
                }
                default -> throw error("bad escape \\" + e);
            }
        }
    }

    /** Writes {@code value} as pretty-printed JSON (two-space indent), keys in map order. */
    public static String writePretty(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int indent) {
        if (v == null) b.append("null");
        else if (v instanceof String str) b.append(quote(str));
        else if (v instanceof Boolean bo) b.append(bo);
        else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) throw new IllegalArgumentException("JSON: cannot write non-finite number " + d);
            b.append(v instanceof Float f ? Float.toString(f) : Double.toString(d));
        } else if (v instanceof Number n) b.append(n.longValue());
        else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) { b.append("{}"); return; }
            b.append("{\n");
            Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> e = it.next();
                b.append("  ".repeat(indent + 1)).append(quote(String.valueOf(e.getKey()))).append(": ");
                write(b, e.getValue(), indent + 1);
                b.append(it.hasNext() ? ",\n" : "\n");
            }
            b.append("  ".repeat(indent)).append('}');
        } else if (v instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(", ");
                write(b, l.get(i), indent + 1);
            }
            b.append(']');
        } else throw new IllegalArgumentException("JSON: cannot write " + v.getClass().getName());
    }

    /** {@code s} as a JSON string literal; non-ASCII is written as-is (the files are UTF-8). */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || (Character.isSurrogate(c) && !validSurrogateAt(s, i))) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    private static boolean validSurrogateAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
