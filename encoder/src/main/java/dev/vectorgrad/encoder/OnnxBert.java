package dev.vectorgrad.encoder;

import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps the initializers of a Hugging Face BERT exported to ONNX onto {@link Bert}'s parameter names. Embeddings,
 * LayerNorms and biases keep their names in the export; the 6 weight matrices of each layer are anonymous
 * ({@code onnx::MatMul_NNN}, stored [in, out]) and are found by following the graph: the bias {@code X.bias}
 * is an input of an {@code Add} whose other input is the output of a {@code MatMul}; that MatMul's initializer
 * is {@code X.weight}, transposed to [out, in]. A graph that is not this shape fails naming what is missing.
 */
final class OnnxBert {
    private OnnxBert() {}

    static final String[] LINEARS = {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
            "intermediate.dense", "output.dense"};
    static final String[] LAYER_NORMS = {"attention.output.LayerNorm", "output.LayerNorm"};

    /** The checkpoint's state dict in {@link Bert}'s names, and its config (heads are not in the weights: given). */
    record Loaded(Bert.Config config, Map<String, Tensor> state) {}

    static Loaded stateDict(OnnxReader.Model model, int heads, float eps, String file) {
        Map<String, OnnxReader.Tensor> inits = model.initializers();
        int layers = 0;
        while (inits.containsKey("encoder.layer." + layers + ".attention.self.query.bias")) layers++;
        if (layers == 0) throw notBert(file, "no initializer encoder.layer.0.attention.self.query.bias");
        OnnxReader.Tensor word = need(inits, "embeddings.word_embeddings.weight", 2, file);
        OnnxReader.Tensor pos = need(inits, "embeddings.position_embeddings.weight", 2, file);
        OnnxReader.Tensor type = need(inits, "embeddings.token_type_embeddings.weight", 2, file);
        OnnxReader.Tensor inter = need(inits, "encoder.layer.0.intermediate.dense.bias", 1, file);
        int hidden = (int) word.dims()[1];
        Bert.Config config = new Bert.Config((int) word.dims()[0], hidden, layers, heads, (int) inter.dims()[0], (int) pos.dims()[0],
                (int) type.dims()[0], eps);

        Map<String, OnnxReader.Node> producer = new HashMap<>();
        Map<String, List<OnnxReader.Node>> consumers = new HashMap<>();
        for (OnnxReader.Node n : model.nodes()) {
            for (String o : n.outputs()) producer.put(o, n);
            for (String i : n.inputs()) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
        }

        Map<String, Tensor> state = new LinkedHashMap<>();
        for (String e : new String[] {"word_embeddings", "position_embeddings", "token_type_embeddings"}) {
            OnnxReader.Tensor t = inits.get("embeddings." + e + ".weight");
            if (t.dims()[1] != hidden) throw notBert(file, "embeddings." + e + ".weight is " + Arrays.toString(t.dims()) + ", not [*, " + hidden + "]");
            state.put("embeddings." + e + ".weight", floats(t));
        }
        layerNorm(state, inits, "embeddings.LayerNorm", hidden, file);
        for (int l = 0; l < layers; l++) {
            for (String lin : LINEARS) {
                String prefix = "encoder.layer." + l + "." + lin;
                OnnxReader.Tensor bias = need(inits, prefix + ".bias", 1, file);
                OnnxReader.Tensor w = weightFeeding(bias.name(), inits, producer, consumers, file);
                long in = w.dims()[0], out = w.dims()[1];
                if (out != bias.dims()[0])
                    throw notBert(file, "the MatMul weight " + w.name() + " feeding " + prefix + ".bias is " + Arrays.toString(w.dims())
                            + ", but the bias has " + bias.dims()[0] + " values");
                state.put(prefix + ".weight", transpose(w.floats(), (int) in, (int) out));
                state.put(prefix + ".bias", floats(bias));
            }
            for (String ln : LAYER_NORMS) layerNorm(state, inits, "encoder.layer." + l + "." + ln, hidden, file);
        }
        return new Loaded(config, state);
    }

    /** The [in, out] initializer of the MatMul whose output is added to {@code bias}. */
    private static OnnxReader.Tensor weightFeeding(String bias, Map<String, OnnxReader.Tensor> inits, Map<String, OnnxReader.Node> producer,
            Map<String, List<OnnxReader.Node>> consumers, String file) {
        for (OnnxReader.Node add : consumers.getOrDefault(bias, List.of())) {
            if (!add.opType().equals("Add")) continue;
            for (String other : add.inputs()) {
                OnnxReader.Node mm = producer.get(other);
                if (other.equals(bias) || mm == null || !mm.opType().equals("MatMul")) continue;
                for (String in : mm.inputs()) {
                    OnnxReader.Tensor w = inits.get(in);
                    if (w != null && w.dims().length == 2 && w.dataType() == OnnxReader.FLOAT) return w;
                }
            }
        }
        throw notBert(file, "no MatMul with a float32 [in, out] initializer feeds an Add of " + bias);
    }

    private static void layerNorm(Map<String, Tensor> state, Map<String, OnnxReader.Tensor> inits, String prefix, int hidden, String file) {
        for (String p : new String[] {".weight", ".bias"}) {
            OnnxReader.Tensor t = need(inits, prefix + p, 1, file);
            if (t.dims()[0] != hidden) throw notBert(file, prefix + p + " has " + t.dims()[0] + " values, not " + hidden);
            state.put(prefix + p, floats(t));
        }
    }

    private static OnnxReader.Tensor need(Map<String, OnnxReader.Tensor> inits, String name, int rank, String file) {
        OnnxReader.Tensor t = inits.get(name);
        if (t == null) throw notBert(file, "no initializer " + name);
        if (t.dataType() != OnnxReader.FLOAT) throw notBert(file, name + " is not float32 (data_type " + t.dataType() + ")");
        if (t.dims().length != rank) throw notBert(file, name + " has shape " + Arrays.toString(t.dims()) + ", expected rank " + rank);
        for (long d : t.dims()) if (d == 0) throw notBert(file, name + " is empty: " + Arrays.toString(t.dims()));
        return t;
    }

    private static Tensor floats(OnnxReader.Tensor t) {
        return Tensor.wrap(t.floats(), t.shape());
    }

    static Tensor transpose(float[] w, int in, int out) {
        float[] t = new float[w.length];
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) t[o * in + i] = w[i * out + o];
        return Tensor.wrap(t, out, in);
    }

    private static IllegalArgumentException notBert(String file, String what) {
        return new IllegalArgumentException(file + ": not the expected BERT graph: " + what);
    }
}
