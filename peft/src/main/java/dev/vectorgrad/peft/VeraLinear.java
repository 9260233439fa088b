package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * VeRA on a Linear: {@code y = W₀x + b + λ_b ⊙ (B_s (λ_d ⊙ (A_s dropout(x))))} with the adapter's shared frozen
 * {@link VeraProjections} sliced to this layer (A[:, :in], B[:out, :]); trainable λ_d (r, init dInitial) and
 * λ_b (out, init 0), named as PEFT names them: {@code vera_lambda_d.<adapter>}, {@code vera_lambda_b.<adapter>}.
 * The adapter path runs fused ({@link VeraOp}), or, when that is less arithmetic for the batch at hand, as
 * W₀ + ΔW(λ) through the base product ({@link VeraDeltaWeight}).
 */
public final class VeraLinear extends AdapterLinear {
    private NamedDict lambdaB, lambdaD;
    private final Map<String, VeraProjections> projections = new HashMap<>();
    private final Map<String, Float> dropout = new HashMap<>();
    private final Rng dropoutRng;

    public VeraLinear(Module base, long dropoutSeed) {
        super(base);
        base.requiresGrad(false);
        this.lambdaB = registerModule("vera_lambda_b", new NamedDict());
        this.lambdaD = registerModule("vera_lambda_d", new NamedDict());
        this.dropoutRng = new Rng(dropoutSeed);
    }

    public VeraLinear(Module base) {
        this(base, 0);
    }

    /** Adds adapter {@code name} over {@code proj}: λ_b = 0, λ_d = {@code dInitial}. */
    public VeraLinear addAdapter(String name, VeraProjections proj, double dInitial, double dropoutP) {
        if (hasAdapter(name)) throw new IllegalArgumentException("VeRA: adapter '" + name + "' already exists on this layer");
        if (in > proj.maxIn() || out > proj.maxOut())
            throw new IllegalArgumentException("VeRA: layer " + in + "→" + out + " is larger than the shared projections " + proj.maxIn() + "→" + proj.maxOut());
        if (!(dropoutP >= 0 && dropoutP < 1)) throw new IllegalArgumentException("VeRA: dropout must be in [0, 1), got " + dropoutP);
        lambdaB.putParameter(name, Variable.param(Tensor.zeros(out)));
        lambdaD.putParameter(name, Variable.param(Tensor.full((float) dInitial, proj.r())));
        projections.put(name, proj);
        dropout.put(name, (float) dropoutP);
        added(name);
        return this;
    }

    public Variable lambdaB(String name) {
        return require(lambdaB.parameter(name), name);
    }

    public Variable lambdaD(String name) {
        return require(lambdaD.parameter(name), name);
    }

    public VeraProjections projections(String name) {
        return require(projections.get(name), name);
    }

    private static <T> T require(T t, String name) {
        if (t == null) throw new IllegalArgumentException("VeRA: no adapter '" + name + "' on this layer");
        return t;
    }

    @Override
    Variable delta(String name, Variable x) {
        float p = dropout.get(name);
        Variable xd = p > 0 ? F.dropout(x, p, isTraining(), dropoutRng) : x;
        return VeraOp.apply(xd, projections(name), lambdaD(name), lambdaB(name));
    }

    /** Forces the per-token path (false), the weight path (true), or lets the cost decide (null); for tests. */
    static Boolean forceWeightPath;

    /**
     * The weight form ({@link VeraDeltaWeight}) when it does less arithmetic: per step it costs out·r·in to form
     * ΔW, out·in·r for its gradient and N·out·in for dΔW = gᵀx, against 2·N·r·(in + out) through the tokens.
     * Not with adapter dropout (the adapter path sees dropout(x), the base x).
     */
    @Override
    Variable weightDelta(String name, long tokens) {
        if (dropout.get(name) > 0 && isTraining()) return null;
        VeraProjections p = projections(name);
        long r = p.r();
        boolean weight = forceWeightPath != null ? forceWeightPath
                : 2 * out * r * in + tokens * out * in < 2 * tokens * r * (in + out);
        return weight ? VeraDeltaWeight.apply(p, in, out, lambdaD(name), lambdaB(name)) : null;
    }

    /** The exact LoRA pair of this adapter: {B' = diag(λ_b)·B_s (out × r), A' = diag(λ_d)·A_s (r × in)}, scaling 1. */
    public Tensor[] loraPair(String name) {
        try (var g = Grad.disabled()) {
            VeraProjections p = projections(name);
            Tensor bp = p.bSlice(out).mul(lambdaB(name).data().reshape(out, 1));
            Tensor ap = p.aSlice(in).mul(lambdaD(name).data().reshape(p.r(), 1));
            return new Tensor[] {bp.contiguous(), ap.contiguous()};
        }
    }

    @Override
    public Tensor deltaWeight(String name) {
        Tensor[] ba = loraPair(name);
        return ba[0].matmul(ba[1]);
    }

    @Override
    void removeParameters(String name) {
        lambdaB = withoutEntry("vera_lambda_b", lambdaB, name);
        lambdaD = withoutEntry("vera_lambda_d", lambdaD, name);
        projections.remove(name);
        dropout.remove(name);
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(lambdaB(name), lambdaD(name));
    }

    /** The shapes a file holds for an adapter of rank r on a layer with {@code out} outputs, by key suffix. */
    static LinkedHashMap<String, int[]> fileShapes(int r, int in, int out) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".vera_lambda_b", new int[] {out});
        m.put(".vera_lambda_d", new int[] {r});
        return m;
    }

    /** PEFT's keys: {@code .vera_lambda_b} (out), {@code .vera_lambda_d} (r); the shared projections are the model's. */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".vera_lambda_b", lambdaB(name));
        m.put(".vera_lambda_d", lambdaD(name));
        return m;
    }
}
