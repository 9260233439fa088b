package dev.vectorgrad.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;

/**
 * Runs a JShell notebook ({@code notebooks/NAME.jsh}) snippet by snippet through the JShell API and stops
 * at the first snippet that fails to compile or throws, exiting non-zero. That is what CI needs: the
 * {@code jshell} tool itself prints an exception and carries on.
 */
public final class NotebookRunner {
    private NotebookRunner() {}

    /** {@code args[0]}: the notebook file. Exit status 0 when every snippet ran, 1 otherwise. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: NotebookRunner FILE.jsh");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        String source = Files.readString(file);
        int failures = run(file.getFileName().toString(), source);
        System.exit(failures == 0 ? 0 : 1);
    }

    /** Evaluates {@code source}; returns 0 when all snippets succeeded, else 1 (after the first failure). */
    static int run(String name, String source) {
        try (JShell shell = JShell.builder()
                .executionEngine("local")
                .out(System.out)
                .err(System.err)
                .compilerOptions("--add-modules", "jdk.incubator.vector")
                .build()) {
            shell.addToClasspath(System.getProperty("java.class.path"));
            SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
            String rest = source;
            int line = 1;
            while (!rest.isBlank()) {
                SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
                String snippet = info.source();
                if (snippet == null || info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) break;
                if (!info.completeness().isComplete()) {
                    System.err.printf("%s:%d: incomplete snippet at the end of the notebook:%n%s%n", name, line, rest.strip());
                    return 1;
                }
                int consumed = rest.length() - info.remaining().length();
                int startLine = line + countLines(rest.substring(0, leadingBlank(rest)));
                line += countLines(rest.substring(0, consumed));
                rest = info.remaining();
                if (!report(name, startLine, snippet, shell, shell.eval(snippet))) return 1;
            }
            return 0;
        }
    }

    private static boolean report(String name, int line, String snippet, JShell shell, List<SnippetEvent> events) {
        for (SnippetEvent e : events) {
            if (e.causeSnippet() != null) continue; // consequences of an earlier snippet's change
            if (e.status() == Snippet.Status.REJECTED) {
                System.err.printf("%s:%d: snippet does not compile:%n%s%n", name, line, snippet.strip());
                shell.diagnostics(e.snippet()).forEach(d -> System.err.println("  " + message(d)));
                return false;
            }
            if (e.exception() != null) {
                Throwable t = e.exception();
                String type = t instanceof EvalException ee ? ee.getExceptionClassName() : t.getClass().getName();
                System.err.printf("%s:%d: snippet threw %s: %s%n%s%n", name, line, type, t.getMessage(), snippet.strip());
                for (StackTraceElement el : t.getStackTrace()) System.err.println("  at " + el);
                return false;
            }
        }
        return true;
    }

    private static String message(Diag d) {
        return d.getMessage(java.util.Locale.ROOT);
    }

    private static int leadingBlank(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        // back up to the start of the line that holds the first non-blank character
        while (i > 0 && s.charAt(i - 1) != '\n') i--;
        return i;
    }

    private static int countLines(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) == '\n') n++;
        return n;
    }
}
