#!/usr/bin/python3
"""PyTorch peer of vectorgrad's GPT: nanoGPT's architecture and its CPU ("baby") recipe, char-level.

Model (nanoGPT model.py, bias=False, dropout=0): token + learned position embeddings, pre-LayerNorm blocks of
causal multi-head self-attention (fused c_attn producing q, k, v of width 3C, then c_proj) and a 4x MLP
(c_fc, exact GELU, c_proj), residuals, final LayerNorm, LM head tied to the token embedding. GPT-2 init:
normal(0, 0.02) for linear and embedding weights, residual projections (c_proj) normal(0, 0.02/sqrt(2*n_layer)).
torch 1.13 has no scaled_dot_product_attention, so attention is written out with a causal mask (nanoGPT's
"slow path").

Recipe (nanoGPT README, "baby GPT" on a CPU): batch 12, block 64, 4 layers, 4 heads, n_embd 128; AdamW lr 1e-3,
betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on parameters with >= 2 dims only (matrices and embeddings);
learning rate warms up linearly for 100 iterations (nanoGPT: lr * (it + 1) / (warmup + 1)), then cosine decay
to 1e-4 at iteration 2000; gradient norm clipped to 1.0. Data: the text's sorted distinct characters are the
vocabulary (nanoGPT's prepare.py, over the whole file); the first 90% of the characters train, the last 10%
validate; batches are random windows (torch.randint(len - block, (B,))).

Evaluation: every --eval-interval iterations (before that iteration's step, as nanoGPT does, so at 0, K, 2K, ...)
and after the last step, the mean loss over --eval-iters random batches of each split; prints "val loss: X".
Step time: each step (get batch, forward, backward, clip, AdamW step) is timed with perf_counter; the median over
the steps after the 100 warm-up iterations is printed as "median step ms: X". Evaluation is not timed.

Cached generation (batch 1): a KV cache per layer holds the keys and values of the context, so each new token
costs one forward of one position. A sequence starts from one token and grows until the context is full
(block_size tokens); the next sequence starts with an empty cache from the last token sampled. Sampling is
multinomial at temperature 1.0 (no top-k), seeded. After one untimed warm-up sequence, --gen-tokens tokens are
generated and "generation tokens/s: X" printed. The cache is checked first against full recomputation.

Peak RSS ("peak rss MB: X") is resource.getrusage(RUSAGE_SELF).ru_maxrss at the end (KiB on Linux).

Run with: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/scripts/gpt_peer.py \
    --corpus FILE --iters 2000 --eval-interval 500 --threads 2
(gpt_compare.sh passes the embedded English Europarl text, written by write_europarl_en.sh, unless CORPUS is set.)
OPENBLAS_CORETYPE=SkylakeX only works on CPUs with AVX-512 (elsewhere it dies with "Illegal instruction");
without it OpenBLAS picks the core by itself (Zen on this AMD EPYC machine, which uses its AVX2 kernels).
"""
import argparse
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch 1.13's nn.LayerNorm cannot drop only the bias)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        mask = torch.tril(torch.ones(cfg.block_size, cfg.block_size)).view(1, 1, cfg.block_size, cfg.block_size)
        self.register_buffer("mask", mask)

    def forward(self, x, cache=None):
        B, T, C = x.size()
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        if cache is not None:  # incremental decoding: append to the cached keys and values
            if cache[0] is not None:
                k = torch.cat((cache[0], k), dim=2)
                v = torch.cat((cache[1], v), dim=2)
            cache[0], cache[1] = k, v
        S = k.size(2)  # keys so far (== T without a cache)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        # query i (absolute position S - T + i) sees keys 0 .. S - T + i
        att = att.masked_fill(self.mask[:, :, S - T:S, :S] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.n_embd, cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg.n_embd, cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class Config:
    def __init__(self, vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False):
        self.vocab_size = vocab_size
        self.block_size = block_size
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.bias = bias


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg.vocab_size, cfg.n_embd),
            wpe=nn.Embedding(cfg.block_size, cfg.n_embd),
            h=nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
            ln_f=LayerNorm(cfg.n_embd, cfg.bias),
        ))
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None, caches=None, pos0=0):
        B, T = idx.size()
        assert pos0 + T <= self.cfg.block_size, "context longer than block_size"
        pos = torch.arange(pos0, pos0 + T, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if caches is None else caches[i])
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def lr_at(it, lr, min_lr, warmup, decay_iters):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def get_batch(data, batch_size, block_size):
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in ix.tolist()])
    y = torch.stack([data[i + 1:i + 1 + block_size] for i in ix.tolist()])
    return x, y


@torch.no_grad()
def estimate_loss(model, splits, eval_iters, batch_size, block_size):
    out = {}
    model.eval()
    for name, data in splits.items():
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            x, y = get_batch(data, batch_size, block_size)
            _, loss = model(x, y)
            losses[k] = loss.item()
        out[name] = losses.mean().item()
    model.train()
    return out


@torch.no_grad()
def check_cache(model, vocab_size, block_size, seed):
    """Logits from the KV cache, one token at a time, against a full forward of the same sequence."""
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(vocab_size, (1, block_size), generator=g)
    full, _ = model(seq)
    caches = [[None, None] for _ in model.transformer.h]
    worst = 0.0
    for t in range(block_size):
        step, _ = model(seq[:, t:t + 1], caches=caches, pos0=t)
        worst = max(worst, (step[0, 0] - full[0, t]).abs().max().item())
    return worst


@torch.no_grad()
def generate_cached(model, n_tokens, start_token, block_size, generator):
    """Samples n_tokens with a KV cache; restarts the cache from the last token when the context is full."""
    last = torch.tensor([[start_token]], dtype=torch.long)
    caches, pos, made = None, 0, 0
    while made < n_tokens:
        if caches is None or pos == block_size:
            caches, pos = [[None, None] for _ in model.transformer.h], 0
        logits, _ = model(last, caches=caches, pos0=pos)
        pos += 1
        probs = F.softmax(logits[:, -1, :], dim=-1)
        last = torch.multinomial(probs, num_samples=1, generator=generator)
        made += 1
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="UTF-8 text file")
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--eval-interval", type=int, default=500, help="0 turns evaluation off (except the final one)")
    ap.add_argument("--eval-iters", type=int, default=20, help="batches per split per evaluation (nanoGPT's CPU recipe: 20)")
    ap.add_argument("--log-interval", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--gen-tokens", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--block-size", type=int, default=64)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}", flush=True)

    with open(args.corpus, "r", encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    splits = {"train": data[:n], "val": data[n:]}
    print(f"corpus {args.corpus}: {len(text)} characters, vocab {len(chars)}, train {n}, val {len(data) - n}", flush=True)

    B, T = args.batch_size, args.block_size
    cfg = Config(vocab_size=len(chars), block_size=T)
    model = GPT(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params} ({n_params - model.transformer.wpe.weight.numel()} without wpe)", flush=True)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([
        {"params": decay, "weight_decay": 0.1},
        {"params": no_decay, "weight_decay": 0.0},
    ], lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    lr_max, lr_min, warmup, decay_iters = 1e-3, 1e-4, 100, 2000

    step_ms = []
    t_run = time.perf_counter()
    val_loss = None
    for it in range(args.iters):
        if args.eval_interval > 0 and it % args.eval_interval == 0:
            losses = estimate_loss(model, splits, args.eval_iters, B, T)
            val_loss = losses["val"]
            print(f"step {it}: train loss {losses['train']:.4f}", flush=True)
            print(f"val loss: {val_loss:.4f}", flush=True)
        t0 = time.perf_counter()
        lr = lr_at(it, lr_max, lr_min, warmup, decay_iters)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(splits["train"], B, T)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        dt = (time.perf_counter() - t0) * 1000.0
        step_ms.append(dt)
        if args.log_interval > 0 and (it % args.log_interval == 0 or it == args.iters - 1):
            print(f"iter {it}: loss {loss.item():.4f}, lr {lr:.2e}, {dt:.1f} ms", flush=True)
    train_s = time.perf_counter() - t_run

    losses = estimate_loss(model, splits, args.eval_iters, B, T)
    print(f"step {args.iters}: train loss {losses['train']:.4f}", flush=True)
    print(f"val loss: {losses['val']:.4f}", flush=True)
    after = step_ms[warmup:] if len(step_ms) > warmup else step_ms
    print(f"median step ms: {statistics.median(after):.2f}", flush=True)
    print(f"training wall s (evaluations included): {train_s:.1f}", flush=True)

    model.eval()
    diff = check_cache(model, cfg.vocab_size, T, args.seed)
    print(f"kv cache vs full recomputation, max abs logit diff: {diff:.2e}", flush=True)
    assert diff < 1e-4, "KV cache disagrees with full recomputation"
    gen = torch.Generator().manual_seed(args.seed)
    generate_cached(model, T, stoi.get("\n", 0), T, gen)  # warm-up, untimed
    t0 = time.perf_counter()
    made = generate_cached(model, args.gen_tokens, stoi.get("\n", 0), T, gen)
    gen_s = time.perf_counter() - t0
    print(f"generation tokens/s: {made / gen_s:.1f}", flush=True)

    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak rss MB: {rss_kib / 1024:.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
