package dev.vectorgrad.transformer.cli;

import dev.vectorgrad.transformer.data.Tokenizer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code vectorgrad tokenize --tokenizer DIR --inputs LINES.txt}: prints, for each line of the UTF-8 file (line
 * breaks {@code \n}, {@code \r\n} or {@code \r}, not part of the line), its token ids separated by single spaces,
 * one output line per input line (an empty line for an empty one) and nothing else on stdout. The tokenizer is the
 * model folder's: a GPT-2 folder ({@code vocab.json} + {@code merges.txt} or {@code tokenizer.json}) or a
 * vectorgrad checkpoint. A literal {@code <|endoftext|>} becomes its one id, as Hugging Face's GPT2Tokenizer does.
 * Errors: one line on stderr, exit code 2.
 */
public final class TokenizeCommand {
    static final String USAGE = "usage: vectorgrad tokenize --tokenizer DIR --inputs LINES.txt";

    private TokenizeCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Args a = Args.parse("tokenize", args, List.of("--tokenizer", "--inputs"), List.of("--help"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            Path dir = Path.of(a.require("--tokenizer")), inputs = Path.of(a.require("--inputs"));
            if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString());
            if (!Files.isRegularFile(inputs)) throw new NoSuchFileException(inputs.toString());
            Tokenizer tok = Tokenizer.ofModel(dir);
            List<String> lines = Files.readAllLines(inputs, StandardCharsets.UTF_8);
            BufferedWriter w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
            StringBuilder b = new StringBuilder();
            for (String line : lines) {
                b.setLength(0);
                for (int id : tok.encode(line)) {
                    if (!b.isEmpty()) b.append(' ');
                    b.append(id);
                }
                w.write(b.append('\n').toString());
            }
            w.flush();
            return 0;
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (java.nio.charset.CharacterCodingException e) {
            err.println("tokenize: " + inputsArg(args) + " is not valid UTF-8");
            return 2;
        } catch (IOException | IllegalArgumentException e) {
            err.println("tokenize: " + CliErrors.describe(e));
            return 2;
        }
    }

    private static String inputsArg(String[] args) {
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("--inputs")) return args[i + 1];
        return "the inputs file";
    }
}
