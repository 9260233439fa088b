package dev.vectorgrad.encoder.classify;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.encoder.Bert;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;

/**
 * A BERT sentence encoder with a linear classification head on its pooled embedding (the mean of the last hidden
 * states over the real tokens, L2-normalised: sentence-transformers' recipe): {@code logits = classifier(pool(bert(ids)))}.
 * Its parameter names are Hugging Face {@code BertModel}'s ({@code embeddings.*}, {@code encoder.layer.N.*}) plus
 * {@code classifier.weight} [classes, hidden] and {@code classifier.bias}, so that a PEFT adapter on it has the keys
 * PEFT writes for {@code sentence-transformers/all-MiniLM-L6-v2} with a {@code classifier} module added, the head
 * saved through {@code modules_to_save}.
 */
public final class TextClassifier extends Module {
    /** The name of the head (PEFT's {@code modules_to_save} entry). */
    public static final String HEAD = "classifier";

    private final Bert bert;
    public final Linear classifier;

    /** Wraps {@code bert} (its modules are shared, not copied) with a fresh head drawn from {@code rng}. */
    public TextClassifier(Bert bert, int classes, Rng rng) {
        this.bert = bert;
        registerModule("embeddings", bert.embeddings);
        registerModule("encoder", bert.encoder);
        this.classifier = registerModule(HEAD, new Linear(bert.config().hidden(), classes, true, rng));
    }

    public Bert bert() {
        return bert;
    }

    /** The class logits [B, classes] of right-padded {@code ids} [B, T] under the 0/1 {@code mask} [B, T]. */
    public Variable logits(IntTensor ids, IntTensor mask) {
        return classifier.forward(Bert.meanPoolNormalize(bert.forward(ids, mask), mask));
    }
}
