package dev.vectorgrad.transformer.cli;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** The one-line message a command prints for an exception that ends it. */
public final class CliErrors {
    private CliErrors() {}

    /**
     * A file-system error as "no such file: PATH" (or "permission denied: PATH", or "PATH: reason"), since those
     * exceptions' own messages are the bare path; any other exception's message, or its class when it has none.
     */
    public static String describe(Throwable e) {
        if (e instanceof NoSuchFileException f) return "no such file: " + f.getFile();
        if (e instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (e instanceof FileSystemException f)
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
        String m = e.getMessage();
        return m != null && !m.isBlank() ? m : e.toString();
    }
}
