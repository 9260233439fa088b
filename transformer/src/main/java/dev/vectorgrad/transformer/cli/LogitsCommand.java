package dev.vectorgrad.transformer.cli;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.HfGpt2;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code vectorgrad logits --model HF_DIR [--adapter PEFT_DIR] [--merge] --inputs FILE --out FILE [--grads]}:
 * runs a Hugging Face GPT-2 directory on {@code input_ids} from a safetensors file and writes {@code logits}
 * [batch, time, vocab], {@code loss} [1] (mean cross-entropy against {@code targets}, when the file has them)
 * and, with {@code --grads}, {@code grad.<name>} of every trainable parameter under its Hugging Face name
 * (Conv1D weights in HF's [in, out] layout). How anyone checks vectorgrad against the Python ecosystem.
 */
public final class LogitsCommand {
    static final String USAGE = "usage: vectorgrad logits --model HF_DIR [--adapter PEFT_DIR] [--merge] --inputs FILE --out FILE [--grads]";

    private LogitsCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    /** Runs the command; returns the exit status (0 ok, 2 usage error, 1 failure). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Args a = Args.parse("logits", args, List.of("--model", "--adapter", "--inputs", "--out"), List.of("--merge", "--grads", "--help"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            if (a.has("--adapter") || a.has("--merge"))
                throw new Args.UsageException("logits: PEFT adapters are not supported yet (--adapter / --merge belong to the PEFT work)");
            Path model = Path.of(a.require("--model")), inputs = Path.of(a.require("--inputs")), dest = Path.of(a.require("--out"));
            boolean grads = a.has("--grads");
            Gpt gpt = HfGpt2.load(model);
            IntTensor ids, targets = null;
            try (SafetensorsFile f = Safetensors.read(inputs)) {
                if (!f.contains("input_ids")) throw new IllegalArgumentException(inputs + ": no 'input_ids' tensor");
                ids = f.intTensor("input_ids");
                if (f.contains("targets")) targets = f.intTensor("targets");
            }
            if (ids.rank() == 1) ids = ids.reshape(1, ids.numel());
            if (targets != null && targets.numel() != ids.numel())
                throw new IllegalArgumentException(inputs + ": 'targets' has " + targets.numel() + " elements but 'input_ids' has " + ids.numel());
            if (grads && targets == null)
                throw new Args.UsageException("logits: --grads needs 'targets' in " + inputs + " (the gradient is of the loss)");
            Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
            try (var g = grads ? Grad.enabled() : Grad.disabled()) {
                Variable logits = gpt.forward(ids);
                w.put("logits", logits.data());
                if (targets != null) {
                    Variable loss = F.crossEntropy(logits, targets.reshape(ids.shape()));
                    w.put("loss", Tensor.of(new float[] {loss.item()}, 1));
                    if (grads) {
                        loss.backward();
                        for (Map.Entry<String, Variable> e : gpt.namedParameters().entrySet()) {
                            Variable p = e.getValue();
                            if (!p.requiresGrad()) continue;
                            Tensor gr = p.grad() == null ? Tensor.zeros(p.shape()) : p.grad();
                            w.put("grad." + e.getKey(), HfGpt2.toHf(e.getKey(), gr));
                        }
                    }
                }
            }
            w.write(dest);
            out.println("wrote " + dest + " (logits " + java.util.Arrays.toString(ids.shape()) + " x " + gpt.config().vocabSize()
                    + (targets != null ? ", loss" : "") + (grads ? ", gradients" : "") + ")");
            return 0;
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (Exception e) {
            err.println("logits: " + CliErrors.describe(e));
            return 1;
        }
    }
}
