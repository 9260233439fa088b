#!/usr/bin/env bash
# Writes the English part of the Europarl corpus embedded in vectorgrad's build (transformer's EmbeddedCorpus:
# the text `./vectorgrad train` uses without --corpus, the notebooks' text) to FILE, so that a peer program (PyTorch)
# can read exactly the same characters. Needs nothing beside the repository: the corpus comes with the Maven build.
#
#   bench/scripts/write_europarl_en.sh FILE
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 FILE" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/write.jsh" <<'JSH'
java.nio.file.Files.writeString(java.nio.file.Path.of(System.getProperty("out")), dev.vectorgrad.transformer.data.EmbeddedCorpus.language("en"));
/exit
JSH
# written beside FILE and renamed into place, so FILE is never half-written
"$ROOT/vectorgrad" jshell -q "-R-Dout=$out.tmp$$" "$tmp/write.jsh" >/dev/null
[ -s "$out.tmp$$" ] || { echo "$0: the embedded corpus was not written to $out" >&2; rm -f "$out.tmp$$"; exit 1; }
mv "$out.tmp$$" "$out"
