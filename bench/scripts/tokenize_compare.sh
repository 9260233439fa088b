#!/usr/bin/env bash
# Runs `./vectorgrad bench tokenize` (BpeTokenizer) and the jtokkit peer (bench/scripts/TokenizePeer.java, R50K_BASE
# = GPT-2) on the same file with the same protocol, alternating the two sides ROUNDS times (the machine may be
# shared), and prints every run and a Markdown table: the median of the timed passes (vectorgrad's pre-token
# cache warm) and the first pass (its cache empty; jtokkit has no cache; both sides' JIT still warming up).
# jtokkit is resolved with Maven into a scratch folder (SCRATCH, default ${TMPDIR:-/tmp}/vectorgrad-tokenize-peer)
# and the peer compiled there with javac: it is never a dependency of the product.
#   usage: bench/scripts/tokenize_compare.sh [--file FILE] [--rounds N] [--warmup N] [--runs N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FILE="$ROOT/testdata/tinyshakespeare/tinyshakespeare.txt" ROUNDS=3 WARMUP=5 RUNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --file) FILE="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "usage: $0 [--file FILE] [--rounds N] [--warmup N] [--runs N]" >&2; exit 2 ;;
  esac
done
[ -f "$FILE" ] || { echo "tokenize_compare: no such file: $FILE" >&2; exit 2; }
SCRATCH="${SCRATCH:-${TMPDIR:-/tmp}/vectorgrad-tokenize-peer}"
mkdir -p "$SCRATCH"
"$ROOT/vectorgrad" build >/dev/null 2>&1 || "$ROOT/vectorgrad" build

# the launcher's JDK (JAVA_HOME as it resolves it) also compiles and runs the peer, with the same GC flags
JAVA_HOME="$("$ROOT/vectorgrad" info | sed -n 's/^JDK: .*(\(.*\))$/\1/p')"
JAR="$SCRATCH/jtokkit-1.1.0.jar"
if [ ! -f "$JAR" ]; then
  (cd "$SCRATCH" && JAVA_HOME="$JAVA_HOME" mvn -B -q dependency:copy -Dartifact=com.knuddels:jtokkit:1.1.0 -DoutputDirectory="$SCRATCH" >&2)
fi
"$JAVA_HOME/bin/javac" -d "$SCRATCH" -cp "$JAR" "$ROOT/bench/scripts/TokenizePeer.java"
PEER_OPTS=(-XX:+UseParallelGC -Xmn64m)
if grep -q '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then PEER_OPTS+=(-XX:+UseTransparentHugePages); fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
avx512=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)
echo "CPU: $cpu ($(nproc) cores visible), AVX-512: $avx512; JDK: $JAVA_HOME; file: $FILE"
vg=() jt=() vg1=() jt1=()
# last field of the line starting with $1 ("tokens/s:"), or the tokens/s of the "first pass" line
rate() { grep "^tokens/s:" | awk '{print $2}'; }
first() { grep "^first pass" | sed 's/.*, \([0-9]*\) tokens\/s$/\1/'; }
for ((r = 1; r <= ROUNDS; r++)); do
  vo=$("$ROOT/vectorgrad" bench tokenize --file "$FILE" --warmup "$WARMUP" --runs "$RUNS")
  jo=$("$JAVA_HOME/bin/java" "${PEER_OPTS[@]}" -cp "$SCRATCH:$JAR" TokenizePeer "$FILE" "$WARMUP" "$RUNS")
  v=$(printf '%s\n' "$vo" | rate) j=$(printf '%s\n' "$jo" | rate)
  v1=$(printf '%s\n' "$vo" | first) j1=$(printf '%s\n' "$jo" | first)
  echo "round $r: vectorgrad $v tokens/s (first pass $v1), jtokkit $j tokens/s (first pass $j1)"
  vg+=("$v"); jt+=("$j"); vg1+=("$v1"); jt1+=("$j1")
done
printf '\n| round | vectorgrad tokens/s | jtokkit tokens/s | ratio | vectorgrad first pass | jtokkit first pass | ratio |\n|---|---|---|---|---|---|---|\n'
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for ((r = 0; r < ROUNDS; r++)); do
  printf '| %d | %s | %s | %s | %s | %s | %s |\n' $((r + 1)) "${vg[$r]}" "${jt[$r]}" "$(ratio "${vg[$r]}" "${jt[$r]}")" \
    "${vg1[$r]}" "${jt1[$r]}" "$(ratio "${vg1[$r]}" "${jt1[$r]}")"
done
