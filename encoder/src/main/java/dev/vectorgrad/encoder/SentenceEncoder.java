package dev.vectorgrad.encoder;

import java.util.List;

/** Maps texts to fixed-size sentence embeddings (one float[] of {@link #dimension()} values per text). */
public interface SentenceEncoder {
    /** The length of every embedding. */
    int dimension();

    /** One embedding per text, in order. */
    float[][] embed(List<String> texts);

    /** One embedding per text, in order. */
    default float[][] embed(String... texts) {
        return embed(List.of(texts));
    }
}
