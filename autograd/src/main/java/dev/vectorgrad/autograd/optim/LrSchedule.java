package dev.vectorgrad.autograd.optim;

/**
 * A learning-rate multiplier per step (as {@code LambdaLR}); {@link Optimizer#applySchedule} sets each
 * group's lr to its initial lr times {@link #factor(long)}.
 */
@FunctionalInterface
public interface LrSchedule {
    double factor(long step);

    /** Always 1. */
    static LrSchedule constant() {
        return step -> 1.0;
    }

    /**
     * nanoGPT's schedule: linear warm-up (it + 1)/(warmup + 1) for the first {@code warmup} steps, then cosine
     * decay from 1 to {@code minFactor} at step {@code decaySteps}, and {@code minFactor} after.
     */
    static LrSchedule warmupCosine(long warmup, long decaySteps, double minFactor) {
        return step -> {
            if (step < warmup) return (step + 1) / (double) (warmup + 1);
            if (step > decaySteps) return minFactor;
            double ratio = decaySteps == warmup ? 1 : (step - warmup) / (double) (decaySteps - warmup);
            double coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
            return minFactor + coeff * (1 - minFactor);
        };
    }

    /** Linear warm-up over {@code warmup} steps (as above), then linear decay to {@code endFactor} at {@code totalSteps}. */
    static LrSchedule linear(long warmup, long totalSteps, double endFactor) {
        return step -> {
            if (step < warmup) return (step + 1) / (double) (warmup + 1);
            if (step >= totalSteps) return endFactor;
            double ratio = (step - warmup) / (double) Math.max(1, totalSteps - warmup);
            return 1 + (endFactor - 1) * ratio;
        };
    }
}
