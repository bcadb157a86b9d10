"""DialoGPT's own extractor as the oracle of `--dialogpt-keys`: its reddit.py, unmodified.

    pip install flashtext nltk          # the oracle's needs; not rdial's, not the tests'
    python bench/dialogpt_keys_oracle.py --work /tmp/oracle [--dialogpt /path/to/DialoGPT]

What it does, on the two real Pushshift months (../shared/data/real/pushshift):
  1. writes the inputs with tests/build/dialogpt_keys_inputs.py (the real-data test's own
     generator): synthetic RS files (the real data has comments only, and reddit.py's extract
     step reads only threads whose RS record has num_comments >= 2), key files laid out as
     keys-full.tar's data/keys/ (dep for ~90% of the comments, keep for ~60%, leaves and
     non-leaves alike, keys of absent comments, a malformed line), discard digests of ~30% of
     the comments' normalised texts, and one keys-test.gz-like file for both months;
  2. runs reddit.py as its Makefile does: --task=extract --keep_keys, then --task=conv with
     --keep_keys, --discard_tgt_keys, --bl_words/--bl_subreddits (its own empty lists),
     --clean True --min_score 1 --min_depth 2 --max_depth 5 --use_title 0 --leaves_only 1;
     and the test recipe: the one keys file, --leaves_only 0, no lists, no digests;
  3. runs rdial on the same files (extract -> build -> filter -> export; the training recipe
     through a TOML file `base = "dialogpt"` with DialoGPT's empty word list, the test recipe
     with --preset dialogpt-test) and compares the TSV lines (columns 2-3 of reddit.py's output)
     as multisets, and the turns weighted 0.0 by a digest;
  4. prints the figures tests/build/test_dialogpt_keys_real.py holds as its expectations
     (instances per month, weight-0 turns, a SHA-256 of the sorted lines).
Exit status 0 when every comparison is equal.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent.parent / "shared" / "data" / "real"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "build"))
from dialogpt_keys_inputs import MONTHS, make_inputs  # noqa: E402  (the test's generator)


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
    return [line for line in conv.read_text(encoding="utf-8").splitlines() if line]


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


def cut(lines: list[str]) -> list[str]:
    return [line.split("\t", 1)[1] for line in lines]  # the Makefile's `cut -f 2-3`


def multiref_check(work: Path, dialogpt: Path, headed: list[str]) -> bool:
    """create-multiref.py (unmodified) and `rdial export --format multiref --dialogpt-ids`
    on an ids file made from the test output: sibling targets of one parent, plus ids that are
    in no dump; the scored output files must be identical."""
    import gzip
    by_parent = collections.defaultdict(list)
    for line in headed:
        sid, pid, cid = line.split("\t", 1)[0].split(",")
        by_parent[(sid, pid)].append(cid)
    ids = []
    for n, ((sid, pid), cids) in enumerate(sorted(by_parent.items())):
        refs = [f"{len(cids) - i},{sid},{pid},{c}" for i, c in enumerate(cids)]
        if n % 3 == 0:
            refs.append(f"1,{sid},{pid},t1_gone{n}")        # a reference lost from the dump
        ids.append("multiref\t" + "\t".join(refs))
    ids.append("multiref\t5,t3_gone,t1_gone,t1_gone2\t1,t3_gone,t1_gone,t1_gone3")
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    with gzip.open(work / "test.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(headed) + "\n")
    log = work / "multiref.log"
    run([sys.executable, dialogpt / "reddit_extractor" / "src" / "create-multiref.py", "--data",
         work / "test.tsv.gz", "--testids", work / "ids.txt", "--out", work / "theirs.txt"], log)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "rdial", "export", str(work / "rdial-test"), "--format",
                    "multiref", "--dialogpt-ids", str(work / "ids.txt"), "--scored", "--out",
                    str(work / "ours.txt"), "--missing", str(work / "missing.txt")],
                   check=True, env=env)
    theirs = (work / "theirs.txt").read_text(encoding="utf-8")
    ours = (work / "ours.txt").read_text(encoding="utf-8")
    same = theirs == ours
    print(f"multiref: create-multiref.py {theirs.count(chr(10))} lines, rdial {ours.count(chr(10))}:"
          f" {'IDENTICAL' if same else 'DIFFERENT'}; ids not found (rdial --missing): "
          f"{len((work / 'missing.txt').read_text().split())}; ids lines {len(ids)}")
    print("multiref: sha256", hashlib.sha256(ours.encode("utf-8")).hexdigest())
    return same


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
    train = []
    for m in MONTHS:
        lines = cut(oracle(args.work, args.dialogpt, "train", m, keys / f"{m}.gz",
                           word_lists + ["--discard_tgt_keys", keys / f"{m}-o.gz", "--leaves_only", "1"]))
        stats[m]["instances"] = len(lines)
        stats[m]["weight0_turns"] = sum(t.startswith("0.0 ") for line in lines
                                        for t in line.replace("\t", " EOS ").split(" EOS "))
        train += lines
    test, test_headed = [], []
    for m in MONTHS:
        headed = oracle(args.work, args.dialogpt, "test", m, args.work / "keys-test.gz",
                        ["--leaves_only", "0"])
        stats[m]["test_instances"] = len(headed)
        test += cut(headed)
        test_headed += headed
    print(json.dumps(stats, indent=1))
    for name, lines in (("train", train), ("test", test)):
        print(f"{name}: sha256 of the sorted lines:",
              hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest())
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
    ok &= multiref_check(args.work, args.dialogpt, test_headed)
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
