package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;

/**
 * y = x·Wᵀ + b with W [out, in] and optional b [out], as {@code torch.nn.Linear}. Default init is PyTorch's:
 * {@code kaiming_uniform_(W, a=√5)} (so U(±1/√in)), then b ~ U(±1/√in), drawn in that order.
 */
public class Linear extends Module {
    public final Variable weight;
    public final Variable bias;
    public final int inFeatures, outFeatures;

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true, defaultRng());
    }

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        this(inFeatures, outFeatures, bias, defaultRng());
    }

    public Linear(int inFeatures, int outFeatures, boolean bias, Rng rng) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        Tensor w = Tensor.zeros(outFeatures, inFeatures);
        Init.kaimingUniform(w, rng, Math.sqrt(5), Init.FanMode.FAN_IN, Init.Nonlinearity.LEAKY_RELU);
        this.weight = registerParameter("weight", w);
        if (bias) {
            Tensor b = Tensor.zeros(outFeatures);
            double bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
            Init.uniform(b, rng, -bound, bound);
            this.bias = registerParameter("bias", b);
        } else {
            this.bias = registerParameter("bias", (Variable) null);
        }
    }

    /** When set, {@link #forward} goes through this module instead (an adapter wrapping this layer). */
    private volatile Module forwardDelegate;

    @Override
    public Variable forward(Variable x) {
        Module d = forwardDelegate;
        return d != null ? d.forward(x) : F.linear(x, weight, bias);
    }

    /**
     * Routes {@link #forward} through {@code wrapper} (null restores the plain layer). Lets a wrapper that
     * replaced this layer in its parent (PEFT's LoRA/VeRA) also catch callers that hold this layer in a field;
     * the wrapper must compute the base product itself ({@code F.linear(x, weight, bias)}), not call forward.
     */
    public void setForwardDelegate(Module wrapper) {
        if (wrapper == this) throw new IllegalArgumentException("a Linear cannot delegate to itself");
        this.forwardDelegate = wrapper;
    }

    /** The module {@link #forward} delegates to, or null. */
    public Module forwardDelegate() {
        return forwardDelegate;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null);
    }
}
