#!/usr/bin/env bash
# Where a baby-GPT training step spends its time: `./vectorgrad train` under Java Flight Recorder (the "profile"
# settings: an execution sample of each running Java thread every 10 ms), then gpt_profile.py sorts the samples
# into parts (GEMM, attention, GELU, layer norm, loss, AdamW, parallel waits, ...) and prints a markdown table.
#
#   bench/scripts/gpt_profile.sh                   # 300 iterations, 2 threads
#   ITERS=500 THREADS=1 bench/scripts/gpt_profile.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ITERS="${ITERS:-300}"
THREADS="${THREADS:-2}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$ROOT/vectorgrad" info >/dev/null 2>&1   # builds first
JDK="$(sed -n 's/^JDK: .*(\(.*\))$/\1/p' <("$ROOT/vectorgrad" info 2>/dev/null))"
VECTORGRAD_JAVA_OPTS="${VECTORGRAD_JAVA_OPTS:-} -XX:StartFlightRecording=filename=$OUT/gpt.jfr,settings=profile" \
  "$ROOT/vectorgrad" train --iters "$ITERS" --eval-interval 0 --threads "$THREADS" --out "$OUT/ckpt" > "$OUT/train.log" 2>&1
echo "$(grep -m1 '^training' "$OUT/train.log"); $(grep 'median step ms' "$OUT/train.log" | tail -n1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JDK/bin/jfr" print --events jdk.ExecutionSample --stack-depth 64 "$OUT/gpt.jfr" | python3 "$ROOT/bench/scripts/gpt_profile.py"
