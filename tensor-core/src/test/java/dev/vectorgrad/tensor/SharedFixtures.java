package dev.vectorgrad.tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the shared fixtures folder: system property {@code vectorgrad.shared}, else ../shared or ../../shared. */
final class SharedFixtures {
    private SharedFixtures() {}

    /** The shared folder; fails (does not skip) when it cannot be found, since CI always has it. */
    static Path root() {
        String prop = System.getProperty("vectorgrad.shared");
        if (prop != null && Files.isDirectory(Paths.get(prop, "fixtures"))) return Paths.get(prop).toAbsolutePath().normalize();
        for (String c : new String[] {"../shared", "../../shared"}) {
            Path p = Paths.get(c);
            if (Files.isDirectory(p.resolve("fixtures"))) return p.toAbsolutePath().normalize();
        }
        throw new AssertionError("shared fixtures folder not found: set -Dvectorgrad.shared=<dir> (was "
                + prop + "), or provide ../shared or ../../shared relative to " + Paths.get("").toAbsolutePath());
    }

    /** {@code fixtures/hf/<rel>}, which must exist. */
    static Path hf(String rel) {
        Path p = root().resolve("fixtures/hf").resolve(rel);
        if (!Files.exists(p)) throw new AssertionError("fixture missing: " + p);
        return p;
    }
}
