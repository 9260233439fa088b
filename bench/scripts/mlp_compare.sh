#!/usr/bin/env bash
# MLP training step, vectorgrad vs PyTorch CPU, back to back for each thread count; prints a Markdown table.
#
#   bench/scripts/mlp_compare.sh                 # threads 1 and 2, 50 timed steps each
#   THREADS="2" STEPS=100 ROUNDS=3 bench/scripts/mlp_compare.sh
#
# Each round runs the PyTorch peer (torch.set_num_threads(T), OpenBLAS at one thread) and then
# MlpBench (--threads T) right after it, same model, same step, same warm-up and step counts; the table
# shows each side's median step time (per round) and the ratio vectorgrad / PyTorch (lower is better).
# OPENBLAS_CORETYPE=SkylakeX is set only on CPUs with AVX-512 (elsewhere OpenBLAS dies with
# "Illegal instruction"; without it OpenBLAS picks its kernels by itself).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-1 2}"
STEPS="${STEPS:-50}"
WARMUP="${WARMUP:-20}"
ROUNDS="${ROUNDS:-1}"

export OPENBLAS_NUM_THREADS=1
if grep -q avx512f /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=SkylakeX; fi

"$ROOT/vectorgrad" build >&2
JDK_JAVA="${JAVA_HOME:+$JAVA_HOME/bin/java}"
if [ -z "$JDK_JAVA" ] || ! "$JDK_JAVA" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
  for j in /usr/lib/jvm/*/bin/java; do
    if "$j" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then JDK_JAVA="$j"; fi
  done
fi
CP="$ROOT/bench/target/classes:$(find "$ROOT/bench/target/lib" -name '*.jar' | sort | tr '\n' ':')"
last() { grep '^median step ms:' | tail -n1 | awk '{print $4}'; }

echo "| threads | round | vectorgrad median step ms | PyTorch median step ms | ratio |"
echo "|---:|---:|---:|---:|---:|"
for t in $THREADS; do
  for r in $(seq 1 "$ROUNDS"); do
    peer=$("$PY" "$ROOT/bench/scripts/mlp_peer.py" --threads "$t" --steps "$STEPS" --warmup "$WARMUP" | last)
    ours=$("$JDK_JAVA" --add-modules jdk.incubator.vector -XX:+UseParallelGC -cp "$CP" dev.vectorgrad.bench.MlpBench \
             --threads "$t" --steps "$STEPS" --warmup "$WARMUP" 2>/dev/null | last)
    ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')
    echo "| $t | $r | $ours | $peer | $ratio |"
  done
done
