package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.HfGpt2;
import dev.vectorgrad.transformer.cli.CliErrors;
import dev.vectorgrad.transformer.cli.LogitsCommand;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code vectorgrad logits} with PEFT adapters: {@code --adapter PEFT_DIR} applies a PEFT directory (LoRA or VeRA)
 * to the Hugging Face model, {@code --merge} merges it first (PEFT's {@code merge_and_unload}); with
 * {@code --grads} the gradients of the adapter's parameters are written under PEFT's names
 * ({@code grad.base_model.model.….lora_A.default.weight}). Without {@code --adapter} it is
 * {@link LogitsCommand} unchanged. Lives in {@code peft} because {@code transformer} must not import it.
 */
public final class PeftLogitsCommand {
    static final String USAGE = "usage: vectorgrad logits --model HF_DIR [--adapter PEFT_DIR] [--merge] --inputs FILE --out FILE [--grads]";

    private PeftLogitsCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    private static final class Usage extends RuntimeException {
        Usage(String m) { super(m); }
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> list = Arrays.asList(args);
        if (!list.contains("--adapter") && !list.contains("--merge")) return LogitsCommand.run(args, out, err);
        try {
            String model = null, adapter = null, inputs = null, dest = null;
            boolean merge = false, grads = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--model", "--adapter", "--inputs", "--out" -> {
                        if (i + 1 >= args.length) throw new Usage("logits: " + a + " needs a value");
                        String v = args[++i];
                        switch (a) {
                            case "--model" -> model = v;
                            case "--adapter" -> adapter = v;
                            case "--inputs" -> inputs = v;
                            default -> dest = v;
                        }
                    }
                    case "--merge" -> merge = true;
                    case "--grads" -> grads = true;
                    case "--help" -> { out.println(USAGE); return 0; }
                    default -> throw new Usage("logits: unknown argument '" + a + "'");
                }
            }
            if (model == null || inputs == null || dest == null) throw new Usage("logits: --model, --inputs and --out are required");
            if (adapter == null) throw new Usage("logits: --merge needs --adapter");
            Gpt gpt = HfGpt2.load(Path.of(model));
            PeftModel pm = PeftFiles.load(gpt, Path.of(adapter));
            IntTensor ids, targets = null;
            try (SafetensorsFile f = Safetensors.read(Path.of(inputs))) {
                if (!f.contains("input_ids")) throw new IllegalArgumentException(inputs + ": no 'input_ids' tensor");
                ids = f.intTensor("input_ids");
                if (f.contains("targets")) targets = f.intTensor("targets");
            }
            if (ids.rank() == 1) ids = ids.reshape(1, ids.numel());
            if (targets != null && targets.numel() != ids.numel())
                throw new IllegalArgumentException(inputs + ": 'targets' has " + targets.numel() + " elements but 'input_ids' has " + ids.numel());
            if (grads && targets == null) throw new Usage("logits: --grads needs 'targets' in " + inputs);
            if (merge) pm.mergeAndUnload();
            gpt.eval();
            Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
            List<String> wrote = new ArrayList<>(List.of("logits"));
            try (var g = grads ? Grad.enabled() : Grad.disabled()) {
                Variable logits = gpt.forward(ids);
                w.put("logits", logits.data());
                if (targets != null) {
                    Variable loss = F.crossEntropy(logits, targets.reshape(ids.shape()));
                    w.put("loss", Tensor.of(new float[] {loss.item()}, 1));
                    wrote.add("loss");
                    if (grads && !merge) {
                        loss.backward();
                        for (Map.Entry<String, Tensor> e : PeftFiles.grads(pm).entrySet()) w.put("grad." + e.getKey(), e.getValue());
                        wrote.add("gradients");
                    }
                }
            }
            w.write(Path.of(dest));
            out.println("wrote " + dest + " (" + String.join(", ", wrote) + "; adapter " + adapter + (merge ? ", merged" : "") + ")");
            return 0;
        } catch (Usage e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (Exception e) {
            err.println("logits: " + CliErrors.describe(e));
            return 1;
        }
    }
}
