package dev.vectorgrad.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import dev.vectorgrad.tensor.Tensor;
import java.lang.ref.WeakReference;
import org.junit.jupiter.api.Test;

class EngineTest {

    @Test
    void micrograd() {
        // micrograd's README example, with PyTorch's answers
        Variable a = Variable.param(Tensor.scalar(-4f)), b = Variable.param(Tensor.scalar(2f));
        Variable c = a.add(b);
        Variable d = a.mul(b).add(b.pow(3f));
        c = c.add(c.add(1f));
        c = c.add(c.add(1f)).add(a.neg());
        d = d.add(d.mul(2f)).add(b.add(a).relu());
        d = d.add(d.mul(3f)).add(b.sub(a).relu());
        Variable e = c.sub(d);
        Variable f = e.pow(2f);
        Variable g = f.div(2f);
        g = g.add(Variable.scalar(10f).div(f));
        g.backward();
        assertThat(g.item()).isCloseTo(24.7041f, offset(1e-4f));
        assertThat(a.grad().item()).isCloseTo(138.8338f, offset(1e-3f));
        assertThat(b.grad().item()).isCloseTo(645.5773f, offset(1e-3f));
    }

    @Test
    void hundredThousandNodeChainDoesNotRecurse() {
        Variable x = Variable.param(Tensor.scalar(1f));
        Variable y = x;
        for (int i = 0; i < 100_000; i++) y = y.mul(1.0f).add(0f);
        y.backward();
        assertThat(x.grad().item()).isEqualTo(1f);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroGrad() {
        Variable w = Variable.param(Tensor.vector(1f, 2f, 3f));
        Variable x = Variable.of(Tensor.vector(4f, 5f, 6f));
        w.mul(x).sum().backward();
        w.mul(x).sum().backward();
        assertThat(w.grad().toArray()).containsExactly(8f, 10f, 12f);
        w.zeroGrad();
        assertThat(w.grad()).isNull();
        w.mul(x).sum().backward();
        assertThat(w.grad().toArray()).containsExactly(4f, 5f, 6f);
    }

    @Test
    void fanOutSumsGradients() {
        Variable x = Variable.param(Tensor.vector(3f));
        Variable y = x.add(x).mul(x); // 2x², dy/dx = 4x
        y.sum().backward();
        assertThat(x.grad().item()).isEqualTo(12f);
    }

    @Test
    void noGradScopeBuildsNoGraph() {
        Variable w = Variable.param(Tensor.vector(1f, 2f));
        Variable y;
        try (var g = Grad.disabled()) {
            y = w.mul(w).sum();
            assertThat(Grad.isEnabled()).isFalse();
            try (var h = Grad.enabled()) {
                assertThat(Grad.isEnabled()).isTrue();
            }
            assertThat(Grad.isEnabled()).isFalse();
        }
        assertThat(Grad.isEnabled()).isTrue();
        assertThat(y.requiresGrad()).isFalse();
        assertThat(y.gradFn()).isNull();
        assertThatThrownBy(y::backward).isInstanceOf(IllegalStateException.class).hasMessageContaining("does not require grad");
    }

    @Test
    void detachCutsTheGraph() {
        Variable w = Variable.param(Tensor.vector(2f));
        Variable y = w.mul(w).detach().mul(w).sum();
        y.backward();
        assertThat(w.grad().item()).isEqualTo(4f); // only the last factor
    }

    @Test
    void frozenLeavesGetNoGradient() {
        Variable w = Variable.param(Tensor.vector(2f)), f = Variable.param(Tensor.vector(3f)).requiresGrad(false);
        w.mul(f).sum().backward();
        assertThat(w.grad().item()).isEqualTo(3f);
        assertThat(f.grad()).isNull();
    }

    @Test
    void secondBackwardNeedsRetainGraph() {
        Variable w = Variable.param(Tensor.vector(2f));
        Variable y = w.exp().sum();
        y.backward(Tensor.scalar(1f), true);
        y.backward(Tensor.scalar(1f), false);
        assertThat(w.grad().item()).isCloseTo(2f * (float) Math.exp(2), offset(1e-4f));
        assertThatThrownBy(y::backward).isInstanceOf(IllegalStateException.class).hasMessageContaining("second time");
    }

    @Test
    void retainGradKeepsAnIntermediateGradient() {
        Variable x = Variable.param(Tensor.vector(1f, 2f));
        Variable h = x.mul(3f).retainGrad();
        h.square().sum().backward();
        assertThat(h.grad().toArray()).containsExactly(6f, 12f);
        assertThat(x.grad().toArray()).containsExactly(18f, 36f);
    }

    @Test
    void backwardWithGradOutputChecksShape() {
        Variable x = Variable.param(Tensor.vector(1f, 2f));
        Variable y = x.mul(2f);
        assertThatThrownBy(y::backward).hasMessageContaining("scalar");
        assertThatThrownBy(() -> y.backward(Tensor.vector(1f, 2f, 3f))).hasMessageContaining("shape");
        y.backward(Tensor.vector(1f, 10f));
        assertThat(x.grad().toArray()).containsExactly(2f, 20f);
    }

    @Test
    void graphAndSavedTensorsAreReleasedAfterBackward() {
        Variable w = Variable.param(Tensor.ones(1000));
        Variable h = w.exp();
        WeakReference<Node> node = new WeakReference<>(h.gradFn());
        Variable loss = h.sum();
        Node expNode = h.gradFn();
        // exp saved its output (e¹ everywhere) for its backward
        assertThat(((Elementwise.Exp) expNode).y.toArray()).usingComparatorWithPrecision(1e-6f).containsOnly((float) Math.E);
        h = null;
        expNode = null;
        loss.backward();
        // The loss still references its node, but that node dropped its edges, so the exp node is unreachable.
        for (int i = 0; i < 20 && node.get() != null; i++) {
            System.gc();
            try { Thread.sleep(10); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
        }
        assertThat(node.get()).isNull();
        assertThat(loss.gradFn()).isNotNull();
        assertThat(w.grad().toArray()).usingComparatorWithPrecision(1e-6f).containsOnly((float) Math.E);
    }

    @Test
    void backwardFromALeaf() {
        Variable w = Variable.param(Tensor.vector(1f, 2f));
        w.backward(Tensor.vector(3f, 4f));
        assertThat(w.grad().toArray()).containsExactly(3f, 4f);
    }
}
