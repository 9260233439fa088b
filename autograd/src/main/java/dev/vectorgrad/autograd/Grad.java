package dev.vectorgrad.autograd;

/**
 * The grad mode of the current thread, as {@code torch.no_grad()} / {@code torch.enable_grad()}.
 *
 * <pre>{@code
 * try (var g = Grad.disabled()) {
 *     Variable y = model.forward(x);   // no graph is recorded, y.requiresGrad() is false
 * }
 * }</pre>
 *
 * Scopes nest: closing one restores the mode that was in force when it was opened.
 */
public final class Grad {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private Grad() {}

    /** True when operations on this thread record a graph. */
    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Opens a scope in which no graph is recorded. */
    public static Scope disabled() {
        return set(false);
    }

    /** Opens a scope in which graphs are recorded (inside a disabled scope, for example). */
    public static Scope enabled() {
        return set(true);
    }

    private static Scope set(boolean on) {
        boolean[] cell = ENABLED.get();
        Scope s = new Scope(cell, cell[0]);
        cell[0] = on;
        return s;
    }

    /** Restores the previous grad mode when closed. */
    public static final class Scope implements AutoCloseable {
        private final boolean[] cell;
        private final boolean previous;
        private boolean closed;

        private Scope(boolean[] cell, boolean previous) {
            this.cell = cell;
            this.previous = previous;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            cell[0] = previous;
        }
    }
}
