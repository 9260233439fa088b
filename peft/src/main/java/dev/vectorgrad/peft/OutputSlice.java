package dev.vectorgrad.peft;

import java.util.ArrayList;
import java.util.List;

/**
 * A named block of a layer's outputs, rows [offset, offset + size) of its weight [out, in], that an adapter can
 * adapt alone. The named blocks are those of GPT-2's fused {@code c_attn} (out = 3·n_embd, output [q | k | v]):
 * target {@code c_attn.q} is rows [0, n_embd), {@code c_attn.k} rows [n_embd, 2·n_embd), {@code c_attn.v} rows
 * [2·n_embd, 3·n_embd) — the paper's W_q, W_k, W_v. (In HF's Conv1D layout, weight [in, out], these are columns.)
 */
public record OutputSlice(String name, int offset, int size) {
    /** The slice names of a fused q/k/v projection, in output order. */
    public static final List<String> QKV = List.of("q", "k", "v");

    public OutputSlice {
        if (name == null || name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad output slice name '" + name + "'");
        if (offset < 0 || size <= 0) throw new IllegalArgumentException("output slice '" + name + "': bad range offset " + offset + ", size " + size);
    }

    /** The named slices of the layer at {@code modulePath} with {@code out} outputs: q, k, v for a {@code c_attn} with out % 3 == 0, else none. */
    public static List<OutputSlice> of(String modulePath, int out) {
        String last = modulePath.substring(modulePath.lastIndexOf('.') + 1);
        if (!last.equals("c_attn") || out % 3 != 0 || out == 0) return List.of();
        List<OutputSlice> s = new ArrayList<>();
        int d = out / 3;
        for (int i = 0; i < 3; i++) s.add(new OutputSlice(QKV.get(i), i * d, d));
        return s;
    }

    /** The end of the range (exclusive). */
    public int end() {
        return offset + size;
    }
}
