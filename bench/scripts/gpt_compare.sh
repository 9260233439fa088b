#!/usr/bin/env bash
# vectorgrad's baby-GPT training step, cached generation and peak RSS vs the PyTorch peer (gpt_peer.py),
# side by side: each round runs vectorgrad's `train` + `bench gen`, then the peer, with the same thread count.
#
#   bench/scripts/gpt_compare.sh                    # 3 rounds of 300 iterations, 2 threads
#   ROUNDS=1 ITERS=2000 EVAL=500 bench/scripts/gpt_compare.sh   # the full recipe (quality bar), once
#
# Step time is each side's "median step ms" (median over the steps after the 100 warm-up iterations); peak RSS
# is GNU time's maximum resident set of each process; "whole run s" is vectorgrad's `train` command end to end (JVM
# start, data, training, evaluations, checkpoint), "training s" the peer's training loop with its evaluations; generation is batch 1 with the KV cache, block-length
# sequences, after an untimed warm-up (both sides use that protocol). The machine these run on is shared and its
# speed drifts from minute to minute, so compare within a round and look at several rounds. The last column is
# `bench pingpong` just before each side: ~70 ns when the VM's two vCPUs sit on one CCD of the host, ~350 ns on two
# (this switches every few seconds and every two-thread kernel boundary pays it; see bench/RESULTS.md).
#
# Corpus: by default the English part of the Europarl corpus embedded in vectorgrad's build (transformer's
# EmbeddedCorpus, `train`'s own default), written to a temporary file by write_europarl_en.sh so that both sides
# read exactly the same characters; works on a bare clone. CORPUS=FILE overrides it (any UTF-8 text, e.g. Tiny
# Shakespeare, which bench/RESULTS.md's earlier rounds used).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
CORPUS="${CORPUS:-}"
ROUNDS="${ROUNDS:-3}"
ITERS="${ITERS:-300}"
EVAL="${EVAL:-0}"
THREADS="${THREADS:-2}"
GEN="${GEN:-1000}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# OpenBLAS's SkylakeX kernels need AVX-512; elsewhere (this AMD EPYC) they die with "Illegal instruction".
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi

"$ROOT/vectorgrad" info >/dev/null 2>&1   # builds first, so no build runs inside a measured command
if [ -z "$CORPUS" ]; then
  CORPUS="$OUT/europarl-en.txt"
  "$ROOT/bench/scripts/write_europarl_en.sh" "$CORPUS"
  echo "corpus: embedded Europarl, English ($(wc -c < "$CORPUS") bytes)" >&2
else
  echo "corpus: $CORPUS" >&2
fi
val() { { grep "^$1" "$2" || true; } | tail -n1 | sed "s/.*: *//"; }

echo "| round | vectorgrad step ms | PyTorch step ms | ratio | vectorgrad gen tok/s | PyTorch gen tok/s | ratio | vectorgrad peak RSS MB | PyTorch peak RSS MB | vectorgrad val loss | PyTorch val loss | vectorgrad whole run s | PyTorch training s | core round trip ns before (vectorgrad / PyTorch) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$ROUNDS"); do
  rtv=$(val "median round trip ns" <("$ROOT/vectorgrad" bench pingpong --seconds 1 2>/dev/null))
  # The peer always evaluates after its last step; with EVAL=0, vectorgrad evaluates once at the end too.
  /usr/bin/time -f "%M %e" -o "$OUT/vg.rss" "$ROOT/vectorgrad" train --corpus "$CORPUS" --iters "$ITERS" \
      --eval-interval "$([ "$EVAL" = 0 ] && echo "$ITERS" || echo "$EVAL")" --threads "$THREADS" --out "$OUT/ckpt" > "$OUT/vg.log" 2>&1
  "$ROOT/vectorgrad" bench gen --checkpoint "$OUT/ckpt" --threads "$THREADS" --tokens "$GEN" > "$OUT/vggen.log" 2>&1
  rtp=$(val "median round trip ns" <("$ROOT/vectorgrad" bench pingpong --seconds 1 2>/dev/null))
  OPENBLAS_NUM_THREADS=1 "$PY" "$ROOT/bench/scripts/gpt_peer.py" --corpus "$CORPUS" --iters "$ITERS" \
      --eval-interval "$EVAL" --threads "$THREADS" --gen-tokens "$GEN" > "$OUT/pt.log" 2>&1
  vs=$(val "median step ms" "$OUT/vg.log"); ps=$(val "median step ms" "$OUT/pt.log")
  vgn=$(val "generation tokens/s" "$OUT/vggen.log"); pgn=$(val "generation tokens/s" "$OUT/pt.log")
  vr=$(awk '{printf "%.1f", $1 / 1024}' "$OUT/vg.rss"); pr=$(val "peak rss MB" "$OUT/pt.log")
  vw=$(awk '{print $2}' "$OUT/vg.rss"); pw=$(val "training wall s" "$OUT/pt.log")
  vl=$(val "val loss" "$OUT/vg.log"); pl=$(val "val loss" "$OUT/pt.log")
  echo "| $r | $vs | $ps | $(awk -v a="$vs" -v b="$ps" 'BEGIN{printf "%.2f", a/b}') | $vgn | $pgn | $(awk -v a="$vgn" -v b="$pgn" 'BEGIN{printf "%.2f", a/b}') | $vr | $pr | ${vl:--} | ${pl:--} | $vw | ${pw:--} | $rtv / $rtp |"
  if [ "$EVAL" != 0 ]; then
    echo "vectorgrad round $r: $(grep -E '^val loss' "$OUT/vg.log" | tr '\n' ' ')" >&2
    echo "PyTorch    round $r: $(grep -E '^val loss|training wall' "$OUT/pt.log" | tr '\n' ' ')" >&2
  fi
done
