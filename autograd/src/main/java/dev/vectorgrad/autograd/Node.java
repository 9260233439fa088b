package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * One recorded operation of the graph: what it saved from the forward pass and how to turn the gradient of
 * its output into the gradients of its inputs.
 *
 * <p>An op subclasses {@code Node}, computes its forward result, saves what its backward needs in fields and
 * hands itself to {@link #record(Node, Tensor, Variable...)}. The engine calls {@link #backward(Tensor)} at
 * most once per backward pass, with the summed gradient of the output, and afterwards {@link #release()}
 * (unless the graph is retained) so that saved activations can be collected.
 *
 * <p>Edges point at the producing node of each input (or at the {@link AccumulateGrad} sink of a leaf), never
 * at the input tensors, so the graph itself keeps no activations alive beyond what the nodes save.
 */
public abstract class Node {
    /** Per input: the node that receives its gradient, or null when that input needs none. */
    Node[] next;
    /** The gradient of this node's output summed so far in the running backward pass. */
    Tensor pending;
    /** Number of not yet processed consumers in the running backward pass. */
    int deps;
    /** Backward-pass stamp used by the engine's traversal. */
    long mark;
    /** True once the saved tensors were freed. */
    boolean released;
    /** The output variable when it asked for {@link Variable#retainGrad()}. */
    Variable retained;
    /** Shape of the output (for messages and checks). */
    int[] outShape;

    protected Node() {}

    /**
     * Gradients with respect to the inputs, in input order, given the gradient of the output. An entry may be
     * null when {@link #needsGrad(int)} is false for it, or when the op already wrote it into the leaf's
     * {@code .grad} itself (see {@link #leafGrad(int)}).
     */
    protected abstract Tensor[] backward(Tensor grad);

    /** Frees the saved tensors; called after backward unless the graph is retained. */
    protected void release() {}

    /** True when input {@code i} needs a gradient. */
    protected final boolean needsGrad(int i) {
        return next[i] != null;
    }

    /**
     * When input {@code i} is a leaf that accumulates its gradient, its {@code .grad} (allocated as zeros if it
     * had none) so that the op can accumulate straight into it (e.g. a GEMM with beta = 1) and return null for
     * that input; otherwise null. Saves allocating and adding a temporary the size of a weight matrix.
     */
    protected final Tensor leafGrad(int i) {
        return next[i] instanceof AccumulateGrad acc ? acc.gradBuffer() : null;
    }

    /** The op's name in messages (the class name by default). */
    public String name() {
        return getClass().getSimpleName();
    }

    @Override
    public String toString() {
        return name() + (outShape == null ? "" : Arrays.toString(outShape));
    }

    /** True when any of the inputs requires a gradient and grad mode is on, i.e. when a node must be recorded. */
    public static boolean needed(Variable... inputs) {
        if (!Grad.isEnabled()) return false;
        for (Variable v : inputs) if (v != null && v.requiresGrad()) return true;
        return false;
    }

    /**
     * Wraps a forward result: when {@link #needed} the result requires grad and is produced by {@code node}
     * (whose edges are set from the inputs); otherwise a plain variable and {@code node} is dropped.
     * {@code node} may be null when not needed.
     */
    public static Variable record(Node node, Tensor out, Variable... inputs) {
        if (node == null || !needed(inputs)) return new Variable(out);
        Node[] edges = new Node[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Variable v = inputs[i];
            if (v != null && v.requiresGrad()) edges[i] = v.gradEdge();
        }
        node.next = edges;
        node.outShape = out.shape();
        return Variable.produced(out, node);
    }
}
