#!/usr/bin/env bash
# Runs `./vectorgrad bench tokenize` (BpeTokenizer) and the jtokkit peer (bench/scripts/TokenizePeer.java, R50K_BASE
# = GPT-2) on the same file with the same protocol, alternating the two sides ROUNDS times (the machine may be
# shared), and prints every run and a Markdown table. jtokkit is resolved with Maven into a scratch folder
# (SCRATCH, default ${TMPDIR:-/tmp}/vectorgrad-tokenize-peer) and the peer compiled there with javac: it is never
# a dependency of the product.
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
vg=() jt=()
for ((r = 1; r <= ROUNDS; r++)); do
  v=$("$ROOT/vectorgrad" bench tokenize --file "$FILE" --warmup "$WARMUP" --runs "$RUNS" | tail -n1 | awk '{print $2}')
  j=$("$JAVA_HOME/bin/java" "${PEER_OPTS[@]}" -cp "$SCRATCH:$JAR" TokenizePeer "$FILE" "$WARMUP" "$RUNS" | tail -n1 | awk '{print $2}')
  echo "round $r: vectorgrad $v tokens/s, jtokkit $j tokens/s"
  vg+=("$v"); jt+=("$j")
done
printf '\n| round | vectorgrad BpeTokenizer tokens/s | jtokkit R50K_BASE tokens/s | ratio (vg/jtokkit) |\n|---|---|---|---|\n'
for ((r = 0; r < ROUNDS; r++)); do
  printf '| %d | %s | %s | %s |\n' $((r + 1)) "${vg[$r]}" "${jt[$r]}" "$(awk -v a="${vg[$r]}" -v b="${jt[$r]}" 'BEGIN { printf "%.2f", a / b }')"
done
