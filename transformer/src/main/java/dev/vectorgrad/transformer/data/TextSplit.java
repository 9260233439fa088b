package dev.vectorgrad.transformer.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A text corpus split as nanoGPT splits it: the first 90% of the characters (Unicode code points, as Python's
 * {@code len(str)} counts them) for training, the rest for validation. The split point is
 * {@code floor(0.9 · n)}, nanoGPT's {@code data[:int(n*0.9)]}.
 *
 * @param train the training text
 * @param val   the validation text
 */
public record TextSplit(String train, String val) {
    /** nanoGPT's training fraction. */
    public static final double TRAIN_FRACTION = 0.9;

    public TextSplit {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(val, "val");
    }

    /** Splits {@code text} 90/10 by code points. */
    public static TextSplit of(String text) {
        return of(text, TRAIN_FRACTION);
    }

    /** Splits {@code text} so that the first {@code floor(fraction · n)} code points are for training. */
    public static TextSplit of(String text, double fraction) {
        if (!(fraction >= 0 && fraction <= 1))
            throw new IllegalArgumentException("TextSplit: fraction must be in [0, 1], got " + fraction);
        int n = text.codePointCount(0, text.length());
        int k = (int) (n * fraction);
        int at = text.offsetByCodePoints(0, k);
        return new TextSplit(text.substring(0, at), text.substring(at));
    }

    /** Reads a UTF-8 text file (malformed UTF-8 is an error naming the file) and splits it 90/10. */
    public static TextSplit read(Path file) throws IOException {
        return of(readUtf8(file));
    }

    /** Reads a whole file as strict UTF-8; a leading byte-order mark is dropped. */
    public static String readUtf8(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": not valid UTF-8 (" + e.getMessage() + ")", e);
        }
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') text = text.substring(1);
        return text;
    }
}
