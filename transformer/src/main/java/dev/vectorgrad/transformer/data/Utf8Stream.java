package dev.vectorgrad.transformer.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a stream of token ids (a sampler's output) to text as characters complete: the bytes of a character
 * split across tokens (a byte-level BPE or byte tokenizer splits them) are held back until its last byte arrives;
 * malformed bytes become U+FFFD.
 */
public final class Utf8Stream {
    private final Tokenizer tok;
    private final CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(16);

    /** A stream decoder for {@code tok}'s ids. */
    public Utf8Stream(Tokenizer tok) {
        this.tok = tok;
    }

    /** The text that one more id completes (maybe empty). */
    public String next(int id) {
        byte[] b = tok.decodeBytes(new int[] {id});
        if (pending.remaining() < b.length) {
            ByteBuffer bigger = ByteBuffer.allocate(pending.position() + b.length + 16);
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(b);
        pending.flip();
        CharBuffer cb = CharBuffer.allocate(pending.remaining() + 2);
        dec.decode(pending, cb, false);
        pending.compact();
        return cb.flip().toString();
    }

    /** What is held back, as U+FFFD (the stream ended inside a character); the stream is then empty. */
    public String finish() {
        pending.flip();
        CharBuffer cb = CharBuffer.allocate(pending.remaining() * 2 + 2);
        dec.decode(pending, cb, true);
        dec.flush(cb);
        dec.reset();
        pending.clear();
        return cb.flip().toString();
    }
}
