package dev.vectorgrad.peft;

/** Singular value decomposition for PiSSA / MiLoRA (not implemented yet). */
final class Svd {
    private Svd() {}

    static void initPrincipal(LoraLinear l, String name, boolean top) {
        throw new UnsupportedOperationException("PiSSA / MiLoRA initialisation is not implemented yet");
    }
}
