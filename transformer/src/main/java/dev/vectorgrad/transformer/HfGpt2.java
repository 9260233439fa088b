package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsException;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Hugging Face GPT-2 directories ({@code config.json} + {@code model.safetensors}) to and from {@link Gpt}.
 *
 * <p>GPT-2's projections are {@code Conv1D} modules whose weight is stored [in, out] ({@code y = x·W + b});
 * vectorgrad's {@code Linear} keeps PyTorch's [out, in], so the four projection weights ({@code c_attn},
 * {@code c_proj}, {@code c_fc}, and the MLP's {@code c_proj}) are transposed when read and written. The LM
 * head is tied to {@code wte}: {@code lm_head.weight}, if present, must equal it and is not written.
 * Parameter names are identical on both sides.
 */
public final class HfGpt2 {
    /** Weights file inside a Hugging Face model directory. */
    public static final String WEIGHTS = "model.safetensors";

    private HfGpt2() {}

    /** True for GPT-2's Conv1D weights (stored [in, out] by Hugging Face). */
    public static boolean isConv1DWeight(String name) {
        return name.endsWith(".weight") && (name.endsWith("c_attn.weight") || name.endsWith("c_proj.weight") || name.endsWith("c_fc.weight"));
    }

    /** A parameter (or its gradient) in Hugging Face's layout: Conv1D weights transposed to [in, out]. */
    public static Tensor toHf(String name, Tensor t) {
        return isConv1DWeight(name) ? t.t().contiguous() : t;
    }

    /** Reads a Hugging Face GPT-2 directory into a new model. */
    public static Gpt load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException(dir + ": not a directory (expected a Hugging Face model with config.json and " + WEIGHTS + ")");
        Path config = dir.resolve(GptConfig.HF_FILE);
        GptConfig cfg = GptConfig.readHf(config);
        Gpt model = newModelFor(cfg, config, dir.resolve(WEIGHTS));
        loadWeights(model, dir.resolve(WEIGHTS));
        model.train(false);
        return model;
    }

    /**
     * A new model of {@code cfg}, built only once the weights file is known to hold at least as many elements as the
     * model has parameters: a config that asks for more (a corrupt or foreign one) is an error naming both files,
     * not gigabytes allocated for weights that cannot be there.
     */
    public static Gpt newModelFor(GptConfig cfg, Path configFile, Path weights) throws IOException {
        long held = 0;
        try (SafetensorsFile f = Safetensors.read(weights)) {
            for (var t : f.infos().values()) held += t.numel();
        }
        if (cfg.parameterCount() > held)
            throw new IllegalArgumentException(configFile + ": the config describes a model of " + cfg.parameterCount()
                    + " parameters, but " + weights + " holds only " + held + " elements");
        return new Gpt(cfg);
    }

    /**
     * Copies every parameter of {@code model} from a GPT-2 safetensors file (F32/F16/BF16). Missing parameters,
     * unexpected tensors and shape mismatches are errors naming the file and the tensor. Biases absent from the
     * model (config without bias) must be zero in the file. What the file holds that does not fit the model is a
     * {@link SafetensorsException}.
     */
    public static void loadWeights(Gpt model, Path file) throws IOException {
        Map<String, Variable> params = model.namedParameters();
        try (SafetensorsFile f = Safetensors.read(file)) {
            Set<String> unused = new TreeSet<>(f.names());
            for (Map.Entry<String, Variable> e : params.entrySet()) {
                String name = e.getKey();
                Tensor dst = e.getValue().data();
                String key = resolve(f, name);
                if (key == null) throw new SafetensorsException(file + ": tensor '" + name + "' is missing");
                unused.remove(key);
                Tensor src = f.tensor(key);
                int[] want = toHf(name, dst).shape();
                if (!Arrays.equals(src.shape(), want))
                    throw new SafetensorsException(file + ": tensor '" + key + "' has shape " + Arrays.toString(src.shape()) + ", expected "
                            + Arrays.toString(want));
                dst.copyFrom(isConv1DWeight(name) ? src.t() : src);
            }
            for (String extra : new TreeSet<>(unused)) {
                String n = extra.startsWith("transformer.") ? extra : "transformer." + extra;
                if (n.endsWith(".attn.bias") || n.endsWith(".attn.masked_bias")) {
                    unused.remove(extra); // old GPT-2 checkpoints store the causal mask buffers
                } else if (extra.equals("lm_head.weight")) {
                    Tensor head = f.tensor(extra);
                    if (!head.contentEquals(model.transformer.wte.weight.data()))
                        throw new SafetensorsException(file + ": lm_head.weight differs from transformer.wte.weight, but the head is tied");
                    unused.remove(extra);
                } else if (n.endsWith(".bias") && !params.containsKey(n)) {
                    Tensor b = f.tensor(extra);
                    for (float v : b.toArray())
                        if (v != 0f) throw new SafetensorsException(file + ": tensor '" + extra + "' is non-zero but the config has no biases");
                    unused.remove(extra);
                }
            }
            if (!unused.isEmpty()) throw new SafetensorsException(file + ": unexpected tensors " + unused);
        }
    }

    /** The file's key for a parameter: the name itself, or without {@code transformer.} (GPT2Model files). */
    private static String resolve(SafetensorsFile f, String name) {
        if (f.contains(name)) return name;
        String bare = name.startsWith("transformer.") ? name.substring("transformer.".length()) : name;
        return f.contains(bare) ? bare : null;
    }

    /** The model's weights as Hugging Face stores them (zero biases written when the config has none). */
    public static Map<String, Tensor> hfStateDict(Gpt model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        GptConfig cfg = model.config();
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
            String n = e.getKey();
            out.put(n, toHf(n, e.getValue().data()));
            if (!cfg.bias() && (n.endsWith(".weight") && !n.endsWith("wte.weight") && !n.endsWith("wpe.weight"))) {
                int outDim = isConv1DWeight(n) ? e.getValue().data().size(0) : e.getValue().data().size(0);
                out.put(n.substring(0, n.length() - ".weight".length()) + ".bias", Tensor.zeros(outDim));
            }
        }
        return out;
    }

    /** Writes {@code config.json} and {@code model.safetensors} (each atomically) into {@code dir}. */
    public static void save(Gpt model, Path dir) throws IOException {
        Files.createDirectories(dir);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        hfStateDict(model).forEach(w::put);
        w.write(dir.resolve(WEIGHTS));
        model.config().writeHf(dir.resolve(GptConfig.HF_FILE));
    }
}
