#!/usr/bin/env bash
# Issue 17's figures in one go, for a quiet window (about 6–7 minutes on the 2-core AVX-512 EPYC; run it three
# times minutes apart for the protocol's three ratios). Prints markdown to stdout, progress to stderr:
#   0. ./vectorgrad tune at both widths (TUNE=0 skips it);
#   1. the FMA peak per thread count, 512-bit and -XX:UseAVX=2 (bench fma);
#   2. SGEMM 1024³ and 2048³, 1 and 2 threads, wide path (vs OpenBLAS SkylakeX) and avx2 path (-XX:UseAVX=2 vs
#      OpenBLAS Haswell), best of 2 alternations, with each figure's fraction of the FMA peak;
#   3. the GPT step's twelve GEMM shapes, 1 and 2 threads, wide path (1 thread also avx2);
#   4. the baby-GPT training step vs PyTorch, 2 threads, two rounds of 300 iterations (gpt_compare.sh).
#
#   bench/scripts/issue17_quiet.sh | tee issue17-$(date +%H%M).md
#
# The fractions of peak divide by the larger of the two measured peaks for that thread count: the 256-bit FMA loop
# reads below OpenBLAS's own Haswell kernel on this CPU, so it would overstate the avx2 fractions. 1-thread rows are
# wall-clock here (quiet machine); CLOCK=cpu switches them to thread CPU time if the window turns out busy.
# A smoke test of the script itself (a minute): SQUARE=256,256,256,NN GPT_SHAPES=768,128,65,TN GPT_ROUNDS=1 GPT_ITERS=120
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="$ROOT/bench/scripts"
CLOCK="${CLOCK:-wall}"
T0=$(date +%s)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
step() { echo "[$(( $(date +%s) - T0 )) s] $*" >&2; }

"$ROOT/vectorgrad" build >&2
# TUNE=1 (default): re-tune both widths first, so the plans measured are this code's own choice (the stored files
# may come from an older tuner); TUNE=0 keeps whatever ~/.cache/vectorgrad holds.
if [ "${TUNE:-1}" = 1 ]; then
  step "tuning (native width, then -XX:UseAVX=2)"
  "$ROOT/vectorgrad" tune > "$OUT/tune-wide.txt" 2>/dev/null
  VECTORGRAD_JAVA_OPTS="-XX:UseAVX=2" "$ROOT/vectorgrad" tune > "$OUT/tune-avx2.txt" 2>/dev/null
fi
echo "## Issue 17 quiet-window run, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
# ~70 ns: the two vCPUs on one CCD of the host; ~350 ns: on two (switches every few seconds; see RESULTS.md).
echo "- core round trip now (bench pingpong, 2 s): $("$ROOT/vectorgrad" bench pingpong --seconds 2 2>/dev/null | sed -n 's/^median round trip ns: //p') ns"
for p in "" "-XX:UseAVX=2"; do
  echo "- ${p:-native width}: $(VECTORGRAD_JAVA_OPTS="$p" "$ROOT/vectorgrad" info 2>/dev/null | grep -E 'species|GEMM plan' | sed 's/^/  /' | tr '\n' ' ')"
done
echo

step "FMA peak"
echo "### FMA peak (bench fma, best of 3, per-thread CPU time summed), GFLOP/s"
echo
echo "| threads | 512-bit | 256-bit (-XX:UseAVX=2) |"
echo "|---:|---:|---:|"
for t in 1 2; do
  w=$("$ROOT/vectorgrad" bench fma --threads "$t" --runs 3 2>/dev/null | sed -n 's/^GFLOP\/s: //p')
  n=$(VECTORGRAD_JAVA_OPTS="-XX:UseAVX=2" "$ROOT/vectorgrad" bench fma --threads "$t" --runs 3 2>/dev/null | sed -n 's/^GFLOP\/s: //p')
  echo "| $t | $w | $n |"
  awk -v w="$w" -v n="$n" 'BEGIN { print (w > n) ? w : n }' > "$OUT/peak$t"
done
echo

# Appends "of FMA peak" to each row of a matmul_compare table (column 4 = threads, 5 = vectorgrad GFLOP/s).
with_peak() {
  awk -F'|' -v p1="$(cat "$OUT/peak1")" -v p2="$(cat "$OUT/peak2")" '
    /^\| shape/ { print $0 " of FMA peak (ours / OpenBLAS) |"; next }
    /^\|---/ { print $0 "---:|"; next }
    /^\|/ { t = $5 + 0; pk = (t == 1) ? p1 : p2; printf "%s %.0f%% / %.0f%% |\n", $0, 100 * $6 / pk, 100 * $7 / pk; next }
    { print }'
}

step "SGEMM 1024^3 / 2048^3"
echo "### SGEMM, square (matmul_compare.sh, best of 2 alternations, each best of 5 after 1 s warm-up)"
echo
THREADS="1 2" CLOCK="$CLOCK" WARMUP=1 RUNS=5 REPEAT=2 SHAPES="${SQUARE:-1024,1024,1024,NN 2048,2048,2048,NN}" \
  "$S/matmul_compare.sh" 2>/dev/null | with_peak
echo

GPT_SHAPES="${GPT_SHAPES:-}"
[ -n "$GPT_SHAPES" ] || for s in "768 128 384" "768 128 512" "768 512 128" "768 128 65"; do
  set -- $s
  GPT_SHAPES="$GPT_SHAPES $1,$2,$3,NN $1,$3,$2,NT $2,$1,$3,TN"
done
step "GPT shapes, wide path"
echo "### The GPT step's GEMM shapes (bench matmul --shapes gpt's list; best of 5 after 0.5 s warm-up)"
echo
PATHS=wide THREADS="1 2" CLOCK="$CLOCK" WARMUP=0.5 RUNS=5 SHAPES="$GPT_SHAPES" "$S/matmul_compare.sh" 2>/dev/null | with_peak
step "GPT shapes, avx2 path"
PATHS=avx2 THREADS="1" CLOCK="$CLOCK" WARMUP=0.5 RUNS=5 SHAPES="$GPT_SHAPES" "$S/matmul_compare.sh" 2>/dev/null | with_peak | tail -n +3
echo

step "GPT step vs PyTorch"
echo "### Baby-GPT training step vs PyTorch, 2 threads (gpt_compare.sh, 2 rounds × 300 iterations; bar: ratio ≤ 0.5)"
echo
ROUNDS="${GPT_ROUNDS:-2}" ITERS="${GPT_ITERS:-300}" GEN=200 "$S/gpt_compare.sh" 2>/dev/null
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); wall $(( $(date +%s) - T0 )) s"
step "done"
