#!/usr/bin/env bash
# Runs `./vectorgrad bench ops` and the PyTorch peer (bench/scripts/ops_peer.py) side by side for 1 and 2
# threads and prints a Markdown table. Each side is run ROUNDS times, alternating, and the best is kept
# (the machine is shared, so single runs are noisy).
#   usage: bench/scripts/ops_compare.sh [--rows R] [--cols C] [--rounds N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROWS=768 COLS=512 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --cols) COLS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "usage: $0 [--rows R] [--cols C] [--rounds N]" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-/usr/bin/python3}"
"$ROOT/vectorgrad" build >/dev/null 2>&1 || "$ROOT/vectorgrad" build

# min of the value for "op:" over several outputs
best() { grep "^$1:" | awk '{print $2}' | sort -g | head -n1; }

printf '| op | shape | threads | vectorgrad µs | PyTorch µs | ratio (vg/pt) | vectorgrad in a StepArena µs | ratio (arena/pt) | vectorgrad kernel only µs | ratio (kernel/pt) |\n|---|---|---|---|---|---|---|---|---|---|\n'
for T in 1 2; do
  vg_out="" pt_out=""
  for ((r = 0; r < ROUNDS; r++)); do
    vg_out+=$("$ROOT/vectorgrad" bench ops --rows "$ROWS" --cols "$COLS" --threads "$T" 2>/dev/null)$'\n'
    pt_out+=$(OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 "$PY" "$ROOT/bench/scripts/ops_peer.py" --rows "$ROWS" --cols "$COLS" --threads "$T")$'\n'
  done
  for op in softmax layernorm; do
    v=$(printf '%s' "$vg_out" | best "$op"); p=$(printf '%s' "$pt_out" | best "$op")
    k=$(printf '%s' "$vg_out" | best "$op-kernel")
    a=$(printf '%s' "$vg_out" | best "$op-arena")
    aratio=$(awk -v a="$a" -v b="$p" 'BEGIN { printf "%.2f", a / b }')
    ratio=$(awk -v a="$v" -v b="$p" 'BEGIN { printf "%.2f", a / b }')
    kratio=$(awk -v a="$k" -v b="$p" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %sx%s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$op" "$ROWS" "$COLS" "$T" "$v" "$p" "$ratio" "$a" "$aratio" "$k" "$kratio"
  done
done
