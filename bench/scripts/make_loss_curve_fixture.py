#!/usr/bin/python3
"""Makes testdata/gpt-loss-curve/fixture.safetensors: a small GPT trained 20 AdamW steps by PyTorch (llm.c's test_gpt2).

The model is gpt_peer.py's (nanoGPT's architecture: bias=False, dropout 0, exact GELU, LM head tied to wte), in a
small shape so that the Java test takes a second or two: vocabulary = the sorted distinct characters of the text
slice, block 32, 2 layers, 2 heads, n_embd 32. Its initial weights are GPT-2's init from torch.manual_seed(SEED)
(float32). The text is the first CHARS characters of the English part of vectorgrad's embedded Europarl corpus
(transformer's EmbeddedCorpus); its first 90% is the training split, from which 20 batches of B random windows are
drawn with torch.randint (nanoGPT's get_batch).

The recipe is vectorgrad's Trainer (Trainer.step / Trainer.lrAt) with a short schedule, written out on both sides:
AdamW lr 3e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on parameters with >= 2 dims (matrices and
embeddings), 0 on the rest; learning rate lr*(it+1)/(warmup+1) for it < warmup = 5, then cosine decay to 3e-4 at
iteration 20; gradient norm clipped to 1.0 (torch.nn.utils.clip_grad_norm_, over the tied weight once); each step
zero_grad, forward, backward, clip, step; the step's loss is the one before its update.

The reference run is in float64 (the float32 initial weights widened exactly), so the fixture holds PyTorch's answer
without float32 rounding; the script also runs the same steps in float32 and prints how far the two are apart, which
is the noise floor a float32 implementation can expect.

The file (little-endian safetensors, written by hand: the safetensors package is not installed with Debian's torch):
  param.<name>   F32  initial weights, PyTorch/nanoGPT names and layouts (Linear weights [out, in])
  grad0.<name>   F32  gradient of step 0's loss (before clipping) with respect to each parameter
  x, y           I64  [STEPS, B, T] the batches (inputs, next-token targets) as token ids
  loss           F64  [STEPS] each step's training loss
  lr             F64  [STEPS] each step's learning rate
  metadata: text (the slice), the shape and the recipe, torch version, seed.

Run with (the text comes from write_europarl_en.sh unless --text gives a file with the English Europarl text):
  /usr/bin/python3 bench/scripts/make_loss_curve_fixture.py [--text FILE]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_peer import GPT, Config, lr_at  # noqa: E402  (the same model as the benchmark peer)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEED = 1337
CHARS = 6000
STEPS, B, T = 20, 4, 32
LAYERS, HEADS, EMBD = 2, 2, 32
LR, MIN_LR, WARMUP, DECAY_ITERS = 3e-3, 3e-4, 5, 20
BETAS, EPS, WEIGHT_DECAY, CLIP = (0.9, 0.99), 1e-8, 0.1, 1.0


def europarl_en():
    """The English Europarl text exactly as vectorgrad's EmbeddedCorpus.language("en") returns it."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "en.txt")
        subprocess.run([os.path.join(ROOT, "bench", "scripts", "write_europarl_en.sh"), out], check=True)
        with open(out, encoding="utf-8") as f:
            return f.read()


def train(model, xs, ys, dtype):
    """The Trainer's loop; returns (losses, lrs, step-0 gradients by name)."""
    model = model.to(dtype)
    params = dict(model.named_parameters())  # the tied head appears once, as transformer.wte.weight
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)
    losses, lrs, grad0 = [], [], None
    for it in range(STEPS):
        lr = lr_at(it, LR, MIN_LR, WARMUP, DECAY_ITERS)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        _, loss = model(xs[it], ys[it])
        loss.backward()
        if it == 0:
            grad0 = {n: p.grad.detach().clone() for n, p in params.items()}
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        losses.append(loss.item())
        lrs.append(lr)
    return losses, lrs, grad0


def write_safetensors(path, tensors, metadata):
    """safetensors: u64 header length, JSON header (padded with spaces to 8 bytes), then the raw data."""
    codes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", help="UTF-8 file with the English Europarl text (default: bench/scripts/write_europarl_en.sh writes it)")
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "gpt-loss-curve", "fixture.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            full = f.read()
    else:
        full = europarl_en()
    text = full[:CHARS]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    train_ids = data[:int(len(data) * 0.9)]

    torch.manual_seed(SEED)
    cfg = Config(vocab_size=len(chars), block_size=T, n_layer=LAYERS, n_head=HEADS, n_embd=EMBD, bias=False)
    init = GPT(cfg)
    ix = torch.randint(len(train_ids) - T, (STEPS, B))
    xs = torch.stack([torch.stack([train_ids[i:i + T] for i in row.tolist()]) for row in ix])
    ys = torch.stack([torch.stack([train_ids[i + 1:i + 1 + T] for i in row.tolist()]) for row in ix])
    weights = {n: p.detach().clone() for n, p in init.named_parameters()}

    def fresh():
        m = GPT(cfg)
        m.load_state_dict(init.state_dict())
        return m

    losses, lrs, grad0 = train(fresh(), xs, ys, torch.float64)
    losses32, _, grad32 = train(fresh(), xs, ys, torch.float32)
    worst_loss = max(abs(a - b) / abs(b) for a, b in zip(losses32, losses))
    worst_grad = max(((grad32[n].double() - g).abs().max() / g.abs().max()).item() for n, g in grad0.items())
    print(f"torch {torch.__version__}: vocab {len(chars)}, {sum(p.numel() for p in weights.values())} parameters, "
          f"losses {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"float32 run vs float64 run: worst relative loss diff {worst_loss:.2e}, worst relative step-0 gradient "
          f"diff (max |diff| / max |ref| per tensor) {worst_grad:.2e}")

    tensors = {}
    for n, w in weights.items():
        tensors["param." + n] = w.float()
    for n, g in grad0.items():
        tensors["grad0." + n] = g.float()
    tensors["x"], tensors["y"] = xs, ys
    tensors["loss"] = torch.tensor(losses, dtype=torch.float64)
    tensors["lr"] = torch.tensor(lrs, dtype=torch.float64)
    meta = {
        "text": text, "seed": str(SEED), "torch": torch.__version__, "reference_dtype": "float64",
        "vocab_size": str(len(chars)), "block_size": str(T), "n_layer": str(LAYERS), "n_head": str(HEADS),
        "n_embd": str(EMBD), "batch_size": str(B), "steps": str(STEPS),
        "lr": repr(LR), "min_lr": repr(MIN_LR), "warmup_iters": str(WARMUP), "decay_iters": str(DECAY_ITERS),
        "beta1": repr(BETAS[0]), "beta2": repr(BETAS[1]), "eps": repr(EPS), "weight_decay": repr(WEIGHT_DECAY),
        "grad_clip": repr(CLIP),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
