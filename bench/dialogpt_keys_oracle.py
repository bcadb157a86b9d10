"""DialoGPT's own extractor as the oracle of `--dialogpt-keys`: its reddit.py, unmodified.

    pip install flashtext nltk          # the oracle's needs; not rdial's, not the tests'
    python bench/dialogpt_keys_oracle.py --work /tmp/oracle [--dialogpt /path/to/DialoGPT]

What it does, on the two real Pushshift months (../shared/data/real/pushshift):
  1. writes RS_YYYY-MM.zst for them (the real data has comments only; reddit.py's extract step
     reads only threads whose RS record has num_comments >= 2): one submission per thread, in
     the first month with its comments (a submission is in one RS file, as in Pushshift's),
     num_comments = the thread's comments in that month, permalink /r/<subreddit>/comments/<id>/;
  2. generates key files as keys-full.tar lays them out (data/keys/YYYY-MM.gz): a dep key for
     ~90% of the comments, a keep key for ~60% (leaves and non-leaves alike), both chosen by a
     hash of the id, plus listed keys of comments that are not in the dump, and one bad line;
  3. runs reddit.py as its Makefile does (--task=extract, then --task=conv with --keep_keys,
     --discard_tgt_keys, --bl_words/--bl_subreddits of its own empty lists, --clean True
     --min_score 1 --min_depth 2 --max_depth 5 --use_title 0 --leaves_only 1), first without
     digests, then with YYYY-MM-o.gz holding the SHA-224 of every 3rd distinct turn text of
     that first output (so listed turns exist, context and target alike);
  4. the test recipe: one keys file for both months (as keys-test.gz), --leaves_only 0, no
     word lists, no digests;
  5. runs rdial on the same files (extract -> build -> filter -> export) and compares the TSV
     lines (columns 2-3 of reddit.py's output) as multisets; prints the counts the real-data
     test (tests/build/test_dialogpt_keys_real.py) holds as its expectations.
Exit status 0 when every comparison is equal.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent.parent / "shared" / "data" / "real"
MONTHS = ("2005-12", "2006-01")


def read_dump(path: Path) -> list[dict]:
    with open(path, "rb") as fh:
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh)
        return [json.loads(line) for line in io.TextIOWrapper(reader, encoding="utf-8")]


def frac(text: str, salt: str) -> float:
    return int(hashlib.sha1((salt + text).encode()).hexdigest()[:8], 16) / 2**32


def write_zst(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(data))


def make_inputs(work: Path, real: Path) -> dict:
    """RC copies, synthetic RS, key files (folder layout and one test file)."""
    dumps = work / "dumps"
    keys = work / "keys" / "data" / "keys"
    dumps.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    test_lines, stats, seen = [], {}, set()
    for month in MONTHS:
        rc = read_dump(real / "pushshift" / f"RC_{month}.zst")
        (dumps / f"RC_{month}.zst").write_bytes((real / "pushshift" / f"RC_{month}.zst").read_bytes())
        threads = collections.Counter(c["link_id"] for c in rc)
        first = {}
        for c in rc:
            first.setdefault(c["link_id"], c)
        subs = []
        for link, n in sorted(threads.items()):
            if link in seen:  # a submission is in the RS file of one month, as in Pushshift's
                continue
            seen.add(link)
            c = first[link]
            sid = link[3:]
            subs.append(json.dumps({
                "id": sid, "subreddit": c["subreddit"], "author": "someone", "title": f"title {sid}",
                "selftext": "", "over_18": False, "score": 5, "num_comments": n,
                "created_utc": int(c["created_utc"]) - 60, "domain": f"self.{c['subreddit']}",
                "url": f"https://www.reddit.com/r/{c['subreddit']}/comments/{sid}/x/",
                "permalink": f"/r/{c['subreddit']}/comments/{sid}/x/", "retrieved_on": 1}))
        write_zst(dumps / f"RS_{month}.zst", subs)
        lines = []
        for c in rc:
            key = f"{c['link_id']}\tt1_{c['id']}"
            if frac(c["id"], "dep") < 0.9:
                lines.append(key + "\tdep")
            if frac(c["id"], "keep") < 0.6:
                lines.append(key + "\tkeep")
            if frac(c["id"], "test") < 0.7:
                test_lines.append(key + ("\tkeep" if frac(c["id"], "tk") < 0.7 else "\tdep"))
                if test_lines[-1].endswith("keep"):
                    test_lines.append(key + "\tdep")
        # listed keys without a comment in the dump (a re-dump lost them), and a bad line
        lines += [f"t3_zz{i}\tt1_zzz{i}\tkeep" for i in range(5)]
        lines += [f"t3_zz{i}\tt1_zzz{i}\tdep" for i in range(7)]
        lines.append("not a key line")
        with gzip.open(keys / f"{month}.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        stats[month] = {"comments": len(rc), "key_lines": len(lines)}
    with gzip.open(work / "keys-test.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(test_lines) + "\n")
    return stats


def run(cmd: list[str], log: Path, cwd: Path | None = None) -> None:
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(map(str, cmd)) + "\n")
        fh.flush()
        subprocess.run([str(c) for c in cmd], check=True, stdout=fh, stderr=fh, cwd=cwd)


def oracle(work: Path, dialogpt: Path, name: str, month: str, keys: Path, conv_flags: list[str]) -> list[str]:
    """reddit.py's extract and conv steps for one month; the TSV lines, columns 2-3."""
    out = work / name
    script = dialogpt / "reddit_extractor" / "src" / "reddit.py"
    log = work / f"{name}.log"
    extract = out / "extract" / month
    if extract.exists():
        for p in extract.iterdir():
            p.unlink()
    run([sys.executable, script, month, f"--keep_keys={keys}", "--task=extract",
         "--reddit_input", work / "dumps", "--reddit_output", out], log)
    for p in sorted(extract.glob("r[cs]_sub*.tsv")):
        run(["gzip", "-f", p], log)
    conv = out / "conv" / f"{month}.tsv"
    if conv.exists():
        conv.unlink()
    run([sys.executable, script, month, "--task=conv", f"--keep_keys={keys}", *conv_flags,
         "--parallel=True", "--reddit_input", work / "dumps", "--reddit_output", out,
         "--clean", "True", "--min_score", "1", "--min_depth", "2", "--max_depth", "5",
         "--use_title", "0"], log)
    return [line.split("\t", 1)[1] for line in conv.read_text(encoding="utf-8").splitlines() if line]


def rdial(work: Path, name: str, preset_args: list[str], keys: Path) -> list[str]:
    corpus = work / f"rdial-{name}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = work / f"rdial-{name}.log"
    py = [sys.executable, "-m", "rdial"]
    dumps = sorted(str(p) for p in (work / "dumps").glob("R[CS]_*.zst"))
    subprocess.run(py + ["extract", *dumps, "--out", str(corpus), "--buckets", "8"], check=True,
                   env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    for stage in ("build", "filter"):
        extra = ["--split-fractions", "1", "0", "0"] if stage == "filter" else []
        subprocess.run(py + [stage, str(corpus), *preset_args, "--dialogpt-keys", str(keys), *extra],
                       check=True, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT)
    out = subprocess.run(py + ["export", str(corpus), "--format", "dialogpt-tsv", "--split", "train"],
                         check=True, env=env, capture_output=True).stdout.decode("utf-8")
    return [line for line in out.splitlines() if line]


def turn_texts(lines: list[str], weighted: bool) -> list[str]:
    texts = []
    for line in lines:
        src, tgt = line.split("\t")
        for turn in src.split(" EOS ") + [tgt]:
            texts.append(turn.split(" ", 1)[1] if weighted else turn)
    return list(dict.fromkeys(texts))


def compare(label: str, ours: list[str], theirs: list[str]) -> bool:
    a, b = collections.Counter(ours), collections.Counter(theirs)
    same = a == b
    print(f"{label}: reddit.py {len(theirs)} instances, rdial {len(ours)}: "
          f"{'IDENTICAL' if same else 'DIFFERENT'}")
    if not same:
        for line in list((b - a).elements())[:5]:
            print("  only reddit.py:", line)
        for line in list((a - b).elements())[:5]:
            print("  only rdial:   ", line)
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/dialogpt-oracle"))
    ap.add_argument("--dialogpt", type=Path, required=True,
                    help="a checkout of microsoft/DialoGPT (reddit_extractor/src/reddit.py)")
    ap.add_argument("--real", type=Path, default=REAL)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.time()
    stats = make_inputs(args.work, args.real)
    keys = args.work / "keys" / "data" / "keys"
    lists = args.dialogpt / "reddit_extractor" / "lists"
    word_lists = ["--bl_words", lists / "words.blocklist.txt",
                  "--bl_subreddits", lists / "subreddits.blocklist.txt"]
    # pass 1 (no digests) gives the turn texts the digests are drawn from
    first = {m: oracle(args.work, args.dialogpt, "pass1", m, keys / f"{m}.gz",
                       word_lists + ["--leaves_only", "1"]) for m in MONTHS}
    for m in MONTHS:
        texts = turn_texts(first[m], weighted=True)
        listed = [hashlib.sha224(t.encode("utf-8")).hexdigest() for t in texts[::3]]
        with gzip.open(keys / f"{m}-o.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(listed) + "\n")
        stats[m]["digests"] = len(listed)
    train = []
    for m in MONTHS:
        lines = oracle(args.work, args.dialogpt, "train", m, keys / f"{m}.gz",
                       word_lists + ["--discard_tgt_keys", keys / f"{m}-o.gz", "--leaves_only", "1"])
        stats[m]["instances"] = len(lines)
        stats[m]["weight0_turns"] = sum(t.startswith("0.0 ") for line in lines
                                        for t in line.replace("\t", " EOS ").split(" EOS "))
        train += lines
    test = []
    for m in MONTHS:
        lines = oracle(args.work, args.dialogpt, "test", m, args.work / "keys-test.gz",
                       ["--leaves_only", "0"])
        stats[m]["test_instances"] = len(lines)
        test += lines
    print(json.dumps(stats, indent=1))
    toml = args.work / "oracle.toml"
    toml.write_text('base = "dialogpt"\n[lists]\nword_files = []\n')
    ok = compare("training recipe (keys per month, digests)",
                 rdial_train(args.work, toml, args.work / "keys"), train)
    cov = json.loads((args.work / "rdial-train" / "stats" / "filter.json").read_text())["dialogpt_keys"]
    print("rdial's coverage (stats/filter.json dialogpt_keys):", json.dumps(cov["months"]))
    zeroed = sum(v.get("weight0_turns_by_digest", 0) for v in cov["months"].values())
    ok &= zeroed == sum(stats[m]["weight0_turns"] for m in MONTHS)
    print(f"turns weighted 0.0 by a digest: rdial {zeroed}, reddit.py "
          f"{sum(stats[m]['weight0_turns'] for m in MONTHS)}")
    ok &= compare("test recipe (one keys file, --leaves_only 0)",
                  rdial(args.work, "test", ["--preset", "dialogpt-test"], args.work / "keys-test.gz"),
                  test)
    print(f"done in {time.time() - start:.1f}s (logs in {args.work})")
    return 0 if ok else 1


def rdial_train(work: Path, toml: Path, keys: Path) -> list[str]:
    """The training recipe: build --filter-config and filter --config take the same TOML."""
    corpus = work / "rdial-train"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = open(work / "rdial-train.log", "w")
    py = [sys.executable, "-m", "rdial"]
    dumps = sorted(str(p) for p in (work / "dumps").glob("R[CS]_*.zst"))
    subprocess.run(py + ["extract", *dumps, "--out", str(corpus), "--buckets", "8"], check=True,
                   env=env, stdout=log, stderr=subprocess.STDOUT)
    subprocess.run(py + ["build", str(corpus), "--filter-config", str(toml), "--dialogpt-keys",
                         str(keys)], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    subprocess.run(py + ["filter", str(corpus), "--config", str(toml), "--split-fractions", "1",
                         "0", "0"], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    out = subprocess.run(py + ["export", str(corpus), "--format", "dialogpt-tsv", "--split", "train"],
                         check=True, env=env, capture_output=True).stdout.decode("utf-8")
    return [line for line in out.splitlines() if line]


if __name__ == "__main__":
    sys.exit(main())
