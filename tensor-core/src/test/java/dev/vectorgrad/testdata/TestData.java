package dev.vectorgrad.testdata;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one locator of the repository's {@code testdata/} folder, shared by every module's tests (tensor-core
 * publishes it in its test-jar). The folder travels with the repository, so a bare clone has it: nothing is
 * read from outside the checkout. Where it comes from and its licence: {@code testdata/README.md}.
 *
 * <p>Lookup: the system property {@code vectorgrad.testdata} (Surefire sets it to {@code <root>/testdata}),
 * else the first {@code testdata/} with a {@code README.md} in the working directory or one of its parents.
 * A missing folder or file is a test failure that names the path, never a skip.
 */
public final class TestData {
    private TestData() {}

    /** The {@code testdata/} folder; fails naming where it looked. */
    public static Path root() {
        String prop = System.getProperty("vectorgrad.testdata");
        if (prop != null && !prop.isBlank()) {
            Path p = Path.of(prop).toAbsolutePath().normalize();
            if (!Files.isDirectory(p))
                throw new AssertionError("testdata folder not found at " + p + " (from -Dvectorgrad.testdata)");
            return p;
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("testdata");
            if (Files.isRegularFile(p.resolve("README.md"))) return p;
        }
        throw new AssertionError("testdata folder not found in " + Path.of("").toAbsolutePath()
                + " or its parents; set -Dvectorgrad.testdata=<repository>/testdata");
    }

    /** {@code testdata/<rel>}, which must exist (file or folder). */
    public static Path file(String rel) {
        Path p = root().resolve(rel);
        if (!Files.exists(p)) throw new AssertionError("test data missing: " + p);
        return p;
    }

    /** {@code testdata/hf/<rel>}: the Hugging Face / PEFT dumps (see {@code testdata/hf/README.md}). */
    public static Path hf(String rel) {
        return file("hf/" + rel);
    }
}
