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

    @Override
    public Variable forward(Variable x) {
        return F.linear(x, weight, bias);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null);
    }
}
