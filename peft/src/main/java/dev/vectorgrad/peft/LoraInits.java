package dev.vectorgrad.peft;

import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;

/** LoRA initialisations other than the default: Gaussian, PiSSA (top-r singular triplets), MiLoRA (bottom-r). */
final class LoraInits {
    private LoraInits() {}

    static void apply(LoraLinear l, String name, PeftConfig.LoraInit init, Rng rng) {
        switch (init) {
            case DEFAULT -> { }
            case GAUSSIAN -> {
                int r = l.rank(name);
                Init.normal(l.a(name).data(), rng, 0, 1.0 / r);
                Init.zeros(l.b(name).data());
            }
            case PISSA, MILORA -> Svd.initPrincipal(l, name, init == PeftConfig.LoraInit.PISSA);
        }
    }

}
