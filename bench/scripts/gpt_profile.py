#!/usr/bin/env python3
"""Per-part breakdown of a baby-GPT training run from JFR execution samples (`jfr print --events
jdk.ExecutionSample` text on stdin). Each sample goes to the first frame, innermost outward, that names a part
(so VectorMath.exp under the attention's softmax counts as attention, under GELU as GELU). Samples of the run's
set-up (corpus, tokenizer, initialisation, checkpoint, plot) are left out; the rest is the steps. Prints a
markdown table: part, samples, share of the steps' samples. Samples are of running threads (both engine threads), so a
share is of the CPU time the steps used, spin-waiting included, not of their wall time."""
import collections, re, sys

# (part, frame prefix): the first match, innermost frame first, decides.
PARTS = [
    ("set-up (not step)", ("dev.vectorgrad.transformer.data.", "dev.vectorgrad.transformer.train.LossPlot",
                           "dev.vectorgrad.transformer.train.Checkpoints", "dev.vectorgrad.transformer.Gpt.<init>",
                           "dev.vectorgrad.transformer.Gpt.initWeights", "dev.vectorgrad.tensor.Safetensors",
                           "dev.vectorgrad.tensor.GemmTuning")),
    ("GEMM (matmul, linear fwd/bwd)", ("dev.vectorgrad.tensor.Gemm",)),
    ("attention (fused fwd/bwd)", ("dev.vectorgrad.autograd.AttentionKernels", "dev.vectorgrad.autograd.Attention")),
    ("GELU (fwd/bwd)", ("dev.vectorgrad.tensor.Unary.gelu", "dev.vectorgrad.autograd.Kernels.lambda$gelu",
                        "dev.vectorgrad.autograd.Kernels.gelu", "dev.vectorgrad.autograd.Elementwise$Gelu")),
    ("layer norm (fwd/bwd)", ("dev.vectorgrad.tensor.LayerNormKernel", "dev.vectorgrad.autograd.Norms$LayerNorm")),
    ("loss (cross-entropy fwd/bwd)", ("dev.vectorgrad.autograd.Losses", "dev.vectorgrad.tensor.Softmax")),
    ("AdamW + grad clipping", ("dev.vectorgrad.autograd.optim.",)),
    ("embedding (fwd/bwd)", ("dev.vectorgrad.tensor.Gather", "dev.vectorgrad.autograd.Embedding", "dev.vectorgrad.autograd.nn.Embedding")),
    ("parallel waits (caller at join, idle worker spin/park)", ("dev.vectorgrad.tensor.Parallel$Pool.run",
                                                               "dev.vectorgrad.tensor.Parallel$Pool.workerLoop",
                                                               "dev.vectorgrad.tensor.Parallel$Pool.await")),
    ("elementwise (residual adds, copies, views)", ("dev.vectorgrad.tensor.Binary", "dev.vectorgrad.tensor.Unary",
                                                    "dev.vectorgrad.tensor.Tensor", "dev.vectorgrad.tensor.Layout",
                                                    "dev.vectorgrad.autograd.Elementwise", "dev.vectorgrad.autograd.Views")),
    ("autograd engine, arena", ("dev.vectorgrad.autograd.Engine", "dev.vectorgrad.tensor.StepArena",
                                "dev.vectorgrad.autograd.Variable", "dev.vectorgrad.autograd.Node")),
]


def part(frames):
    for f in frames:
        for name, prefixes in PARTS:
            if f.startswith(prefixes):
                return name
    return "other"


def main():
    counts = collections.Counter()
    for ev in sys.stdin.read().split("jdk.ExecutionSample {")[1:]:
        frames = re.findall(r"^\s{4}(\S+?)\(", ev, re.M)
        if frames:
            counts[part(frames)] += 1
    step = {k: v for k, v in counts.items() if k != "set-up (not step)"}
    total = sum(step.values())
    if total == 0:
        sys.exit("gpt_profile.py: no execution samples of the steps")
    print("| part | samples | share of the steps' CPU samples |")
    print("|---|---:|---:|")
    for k, v in sorted(step.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v} | {100.0 * v / total:.1f}% |")
    print(f"| (set-up, left out) | {counts['set-up (not step)']} | |")


if __name__ == "__main__":
    main()
