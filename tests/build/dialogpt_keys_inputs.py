"""Inputs for checking --dialogpt-keys on the real months: RS files and key files, generated.

Shared by tests/build/test_dialogpt_keys_real.py and bench/dialogpt_keys_oracle.py (which runs
DialoGPT's reddit.py on the same files): `make_inputs(work, real)` writes
  work/dumps/RC_YYYY-MM.zst   the real months, copied
  work/dumps/RS_YYYY-MM.zst   one submission per thread, in the first month with its comments
                              (a submission is in one RS file, as in Pushshift's), num_comments =
                              that month's comments of the thread (1 drops it: reddit.py reads
                              threads with num_comments >= 2), permalink /r/<sub>/comments/<id>/
  work/keys/data/keys/YYYY-MM.gz    keys-full.tar's layout: dep for ~90% of the comments, keep
                              for ~60% (leaves and non-leaves), by a hash of the id; 5 keep and
                              7 dep keys of comments absent from the dump; one malformed line
  work/keys/data/keys/YYYY-MM-o.gz  SHA-224 of the normalised text of ~30% of the comments
  work/keys-test.gz           one file for both months (as keys-test.gz): ~70% of the comments,
                              ~70% of those keep (with their dep), the rest dep only
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import io
import json
from pathlib import Path

import zstandard

from rdial.rules.normalize import dialogpt_normalize

MONTHS = ("2005-12", "2006-01")


def read_dump(path: Path) -> list[dict]:
    with open(path, "rb") as fh:
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh)
        return [json.loads(line) for line in io.TextIOWrapper(reader, encoding="utf-8")]


def frac(text: str, salt: str) -> float:
    return int(hashlib.sha1((salt + text).encode()).hexdigest()[:8], 16) / 2**32


def minimal_norm(body: str) -> str:  # reddit.py's minimal_norm_sentence
    return body.replace("\\", "").replace("\n", " ").replace("\r", " ").replace("\t", " ")


def write_gz(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def make_inputs(work: Path, real: Path) -> dict:
    dumps, keys = work / "dumps", work / "keys" / "data" / "keys"
    dumps.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    test_lines, counts, seen = [], {}, set()
    for month in MONTHS:
        src = real / "pushshift" / f"RC_{month}.zst"
        rc = read_dump(src)
        (dumps / src.name).write_bytes(src.read_bytes())
        threads = collections.Counter(c["link_id"] for c in rc)
        first = {}
        for c in rc:
            first.setdefault(c["link_id"], c)
        subs = []
        for link, n in sorted(threads.items()):
            if link in seen:
                continue
            seen.add(link)
            c, sid = first[link], link[3:]
            subs.append(json.dumps({
                "id": sid, "subreddit": c["subreddit"], "author": "someone", "title": f"title {sid}",
                "selftext": "", "over_18": False, "score": 5, "num_comments": n,
                "created_utc": int(c["created_utc"]) - 60, "domain": f"self.{c['subreddit']}",
                "url": f"https://www.reddit.com/r/{c['subreddit']}/comments/{sid}/x/",
                "permalink": f"/r/{c['subreddit']}/comments/{sid}/x/", "retrieved_on": 1}))
        (dumps / f"RS_{month}.zst").write_bytes(
            zstandard.ZstdCompressor(level=3).compress(("\n".join(subs) + "\n").encode()))
        lines, digests = [], set()
        for c in rc:
            key = f"{c['link_id']}\tt1_{c['id']}"
            if frac(c["id"], "dep") < 0.9:
                lines.append(key + "\tdep")
            if frac(c["id"], "keep") < 0.6:
                lines.append(key + "\tkeep")
            if frac(c["id"], "test") < 0.7:
                if frac(c["id"], "tk") < 0.7:
                    test_lines += [key + "\tkeep", key + "\tdep"]
                else:
                    test_lines.append(key + "\tdep")
            if frac(c["id"], "digest") < 0.3:
                digests.add(hashlib.sha224(dialogpt_normalize(minimal_norm(c["body"]))
                                           .encode("utf-8")).hexdigest())
        lines += [f"t3_zz{i}\tt1_zzz{i}\tkeep" for i in range(5)]
        lines += [f"t3_zz{i}\tt1_zzz{i}\tdep" for i in range(7)]
        lines.append("not a key line")
        write_gz(keys / f"{month}.gz", lines)
        write_gz(keys / f"{month}-o.gz", sorted(digests))
        counts[month] = {"comments": len(rc), "key_lines": len(lines), "digests": len(digests)}
    write_gz(work / "keys-test.gz", test_lines)
    return counts
