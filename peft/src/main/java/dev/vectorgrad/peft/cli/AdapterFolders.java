package dev.vectorgrad.peft.cli;

import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.transformer.Gpt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --adapter DIR ...} of {@code sample} and {@code eval}: each folder is a PEFT adapter directory (loaded under
 * its folder name, as PEFT's {@code load_adapter(dir, adapter_name=...)}) or a {@code finetune --method bitfit}
 * output (its biases copied into the model). The adapter named by {@code --adapter-name}, else the first, is made
 * active (PEFT's {@code set_adapter}); {@code --merge} then merges it into the weights.
 */
public final class AdapterFolders {
    private AdapterFolders() {}

    /** The adapter name of a folder: its last path component, with characters other than letters, digits, '_' and '-' as '_'. */
    static String nameOf(Path dir) {
        Path f = dir.toAbsolutePath().normalize().getFileName();
        String n = f == null ? "default" : f.toString().replaceAll("[^A-Za-z0-9_-]", "_");
        return n.isEmpty() ? "default" : n;
    }

    public static void apply(Gpt model, List<Path> dirs, String active, boolean merge) throws IOException {
        PeftModel pm = null;
        List<String> names = new ArrayList<>();
        for (Path d : dirs) {
            if (Files.isRegularFile(d.resolve(PeftFiles.CONFIG))) {
                String n = nameOf(d);
                for (int i = 2; names.contains(n); i++) n = nameOf(d) + "_" + i;
                if (pm == null) pm = PeftModel.of(model);
                PeftFiles.load(pm, d, n);
                names.add(n);
            } else if (Files.isRegularFile(d.resolve(Finetune.BITFIT_FILE))) {
                Methods.loadTrained(model, d.resolve(Finetune.BITFIT_FILE));
            } else if (!Files.isDirectory(d)) {
                throw new IllegalArgumentException("--adapter " + d + ": no such directory");
            } else {
                throw new IllegalArgumentException("--adapter " + d + ": not an adapter folder (no " + PeftFiles.CONFIG + " or " + Finetune.BITFIT_FILE + ")");
            }
        }
        if (active != null && !names.contains(active))
            throw new IllegalArgumentException("--adapter-name '" + active + "': no such adapter (loaded: " + String.join(", ", names) + ")");
        if (pm == null) return;
        pm.setAdapter(active != null ? active : names.get(0));
        if (merge) pm.merge();
    }
}
