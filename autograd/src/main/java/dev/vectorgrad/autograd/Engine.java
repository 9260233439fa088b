package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reverse-mode backward pass over the recorded graph, without recursion.
 *
 * <p>Two iterative passes from the root: a depth-first walk that counts, for every reachable node, how many
 * edges point at it; then Kahn's algorithm — a node runs once all of its consumers have handed it their
 * gradients (so it runs once, with their sum), which is a reverse topological order. Both passes use explicit
 * stacks, so a chain of any length works with the default thread stack.
 */
final class Engine {
    private static final AtomicLong PASS = new AtomicLong();

    private Engine() {}

    static void backward(Variable root, Tensor gradOutput, boolean retainGraph) {
        Node start = root.gradFn();
        if (start == null) {
            if (!root.requiresGrad())
                throw new IllegalStateException("backward: the variable does not require grad and has no grad_fn"
                        + " (was it computed under Grad.disabled(), or from inputs that do not require grad?)");
            start = root.gradEdge();
        }
        if (gradOutput == null) {
            if (root.numel() != 1)
                throw new IllegalArgumentException("backward: grad can be implicitly created only for scalar outputs, got shape "
                        + Arrays.toString(root.shape()) + "; pass backward(gradOutput)");
            gradOutput = Tensor.ones(root.shape());
        } else if (!gradOutput.sameShape(root.data())) {
            throw new IllegalArgumentException("backward: gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + " but the output has shape " + Arrays.toString(root.shape()));
        }
        long mark = PASS.incrementAndGet();

        // Pass 1: count incoming edges of every reachable node.
        ArrayList<Node> stack = new ArrayList<>();
        start.mark = mark;
        start.deps = 0;
        stack.add(start);
        while (!stack.isEmpty()) {
            Node n = stack.remove(stack.size() - 1);
            if (n.released)
                throw new IllegalStateException("backward: trying to backward through the graph a second time (through "
                        + n + "); its saved tensors were freed. Pass retainGraph = true to the first backward.");
            for (Node c : n.next) {
                if (c == null) continue;
                if (c.mark != mark) {
                    c.mark = mark;
                    c.deps = 0;
                    c.pending = null;
                    stack.add(c);
                }
                c.deps++;
            }
        }

        // Pass 2: run each node once all of its consumers have contributed.
        start.pending = gradOutput;
        stack.add(start);
        while (!stack.isEmpty()) {
            Node n = stack.remove(stack.size() - 1);
            Tensor g = n.pending;
            n.pending = null;
            if (n.retained != null && g != null) n.retained.accumulateGrad(g);
            Tensor[] gs = g == null ? null : n.backward(g);
            Node[] next = n.next;
            for (int i = 0; i < next.length; i++) {
                Node c = next[i];
                if (c == null) continue;
                Tensor gi = gs == null ? null : gs[i];
                if (gi != null) {
                    if (c.outShape != null && !Arrays.equals(gi.shape(), c.outShape))
                        throw new IllegalStateException(n.name() + ".backward returned a gradient of shape " + Arrays.toString(gi.shape())
                                + " for input " + i + ", which has shape " + Arrays.toString(c.outShape));
                    c.pending = c.pending == null ? gi : c.pending.add(gi);
                }
                if (--c.deps == 0) stack.add(c);
            }
            if (!retainGraph && !(n instanceof AccumulateGrad)) {
                n.release();
                n.released = true;
                n.next = new Node[0];
                n.retained = null;
            }
        }
    }
}
