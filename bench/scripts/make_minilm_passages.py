#!/usr/bin/env python3
"""Cuts the MiniLM throughput benchmark's passages (testdata/minilm/europarl-passages.txt) from the English
Europarl text embedded in vectorgrad's build: the first 300 lines of at least 300 characters, each cut back to
its last space at or before character 300 (so passages are 250..300 characters, whole words).

    bench/scripts/write_europarl_en.sh /tmp/en.txt
    python3 bench/scripts/make_minilm_passages.py /tmp/en.txt testdata/minilm/europarl-passages.txt
"""
import os
import sys

COUNT, WIDTH = 300, 300


def main(src, dst):
    out = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            line = " ".join(line.split())
            if len(line) < WIDTH:
                continue
            cut = line.rfind(" ", 0, WIDTH + 1)
            if cut < WIDTH - 50:
                continue
            out.append(line[:cut])
            if len(out) == COUNT:
                break
    if len(out) < COUNT:
        sys.exit(f"{src}: only {len(out)} passages")
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
