#!/usr/bin/env bash
# vectorgrad SGEMM vs numpy/OpenBLAS, side by side, for 1 and 2 threads; prints a Markdown table.
#
#   bench/scripts/matmul_compare.sh            # every shape below, threads 1 and 2
#   THREADS="1" SHAPES="1024,1024,1024,NN" bench/scripts/matmul_compare.sh
#
# Each row runs the numpy peer (OPENBLAS_NUM_THREADS=T) and `./vectorgrad bench matmul ... --threads T`
# one right after the other with the same method (warm-up, best of R runs; WARMUP / RUNS override).
# REPEAT=N (default 1) alternates the pair N times and keeps each program's best: on a machine shared
# with other work, a single pair can land in someone else's build.
# A shape is "M,K,N,FORM": FORM NN = (M×K)·(K×N); NT = (M×K)·(N×K)ᵀ; TN = (K×M)ᵀ·(K×N).
# PATHS (default "wide avx2" on a CPU with AVX-512, else "wide") picks the instruction sets compared:
#   wide: both sides on the CPU's widest vectors (OpenBLAS forced to its SkylakeX kernel where avx512f exists);
#   avx2: the JVM with -XX:UseAVX=2 (256-bit vectors) against OpenBLAS's Haswell kernel.
# CLOCK=cpu times the 1-thread rows on each side's thread CPU time (on a machine loaded by others, where the
# wall clock mostly measures the scheduler); 2+ threads always use the wall clock.
# Each path's GEMM plan (./vectorgrad info) is printed to stderr first; VECTORGRAD_GEMM fixes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
THREADS="${THREADS:-1 2}"
WARMUP="${WARMUP:-2}"
RUNS="${RUNS:-10}"
REPEAT="${REPEAT:-1}"
CLOCK="${CLOCK:-wall}"
# The transformer-training shapes: forward A·B (m×k · k×n) and the two backward forms,
# dA = dC·Bᵀ: (m×n)·(k×n)ᵀ and dB = Aᵀ·dC: (m×k)ᵀ·(m×n).
DEFAULT_SHAPES="1024,1024,1024,NN 2048,2048,2048,NN"
for s in "768 128 384" "768 128 512" "768 512 128" "768 128 65"; do
  set -- $s
  DEFAULT_SHAPES="$DEFAULT_SHAPES $1,$2,$3,NN $1,$3,$2,NT $2,$1,$3,TN"
done
SHAPES="${SHAPES:-$DEFAULT_SHAPES}"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then AVX512=1; else AVX512=0; fi
if [ "$AVX512" = 1 ]; then PATHS="${PATHS:-wide avx2}"; else PATHS="${PATHS:-wide}"; fi

"$ROOT/vectorgrad" build >&2
last() { grep '^GFLOP/s:' | tail -n1 | awk '{print $2}'; }

# Per path: the JVM options and OpenBLAS core type.
path_env() {
  case "$1" in
    wide) JOPTS="${VECTORGRAD_JAVA_OPTS:-}"; CORE="$([ "$AVX512" = 1 ] && echo SkylakeX || echo "${OPENBLAS_CORETYPE:-}")" ;;
    avx2) JOPTS="${VECTORGRAD_JAVA_OPTS:-} -XX:UseAVX=2"; CORE=Haswell ;;
    *) echo "bad path $1 (wide or avx2)" >&2; exit 2 ;;
  esac
}
for path in $PATHS; do
  path_env "$path"
  echo "path $path: VECTORGRAD_JAVA_OPTS='$JOPTS' OPENBLAS_CORETYPE='$CORE'; $(VECTORGRAD_JAVA_OPTS="$JOPTS" "$ROOT/vectorgrad" info 2>/dev/null | grep -E 'species|GEMM plan' | tr '\n' ' ')" >&2
done

echo "| shape (m×k · k×n) | op | path | threads | vectorgrad GFLOP/s | OpenBLAS GFLOP/s | ratio |"
echo "|---|---|---|---:|---:|---:|---:|"
for path in $PATHS; do
path_env "$path"
for t in $THREADS; do
  for spec in $SHAPES; do
    IFS=, read -r m k n form <<<"$spec"
    flags=()
    case "$form" in
      NN) op="A·B" ;;
      NT) op="A·Bᵀ"; flags+=(--transpose-b) ;;
      TN) op="Aᵀ·B"; flags+=(--transpose-a) ;;
      *) echo "bad form $form" >&2; exit 2 ;;
    esac
    args=(--m "$m" --n "$n" --k "$k" "${flags[@]}" --warmup "$WARMUP" --runs "$RUNS")
    if [ "$t" = 1 ]; then args+=(--clock "$CLOCK"); fi
    peer=0; ours=0
    for _ in $(seq "$REPEAT"); do
      p=$(OPENBLAS_CORETYPE="$CORE" OPENBLAS_NUM_THREADS="$t" "$PY" "$ROOT/bench/scripts/matmul_peer.py" "${args[@]}" | last)
      o=$(VECTORGRAD_JAVA_OPTS="$JOPTS" "$ROOT/vectorgrad" bench matmul "${args[@]}" --threads "$t" 2>/dev/null | last)
      peer=$(awk -v a="$peer" -v b="$p" 'BEGIN { print (b > a) ? b : a }')
      ours=$(awk -v a="$ours" -v b="$o" 'BEGIN { print (b > a) ? b : a }')
    done
    ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.0f%%", 100 * a / b }')
    echo "| ${m}×${k} · ${k}×${n} | $op | $path | $t | $ours | $peer | $ratio |"
  done
done
done
