"""corpus_status: what a corpus holds, what failed, what is stale, and how each stage last ran.

    rdial status corpus          # a table for people
    rdial status corpus --json   # the same, for scripts

Read-only, and it takes no lock: it reads the ledgers, stats and corpus.json that the stages
publish atomically, so it may run while a stage is writing (it then shows the last finished
state). "Stale" means a rerun would do work: an input file newer than its ledger entry (or
gone), a bucket whose comment files are newer than its chains, shards older than the newest
chains file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rdial.corpus import Corpus
from rdial.ledger import Ledger

_MONTH = re.compile(r"(\d{4}-\d{2})")
STAGES = ("extract", "build", "filter", "run")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def corpus_status(root: Path) -> dict:
    corpus = Corpus.open(Path(root))
    meta = corpus.metadata()
    extract = Ledger(corpus.root, "extract").entries()

    months: dict[str, dict] = {}
    rows = {"comments": 0, "submissions": 0}
    quarantined = 0
    stale: list[str] = []
    for name, entry in sorted(extract.items()):
        stats = entry.get("stats", {})
        kind = stats.get("kind", "comments")
        rows[kind] = rows.get(kind, 0) + stats.get("good", 0)
        quarantined += stats.get("quarantined_total", 0)
        match = _MONTH.search(name)
        month = months.setdefault(match.group(1) if match else name, {})
        month[kind] = month.get(kind, 0) + stats.get("good", 0)
        path = Path(stats.get("path", ""))
        if not path.is_file():
            stale.append(f"extract: {name}: the input {path} is gone (its rows stay)")
        elif path.stat().st_size != stats.get("bytes", path.stat().st_size) or \
                path.stat().st_mtime >= entry.get("finished", 0) + 1:  # ledger times are whole seconds
            stale.append(f"extract: {name}: the input changed after it was extracted")

    failed = []
    for p in sorted(corpus.stats_dir("extract").glob("*.json")) if corpus.stats_dir("extract").exists() else []:
        stats = _read(p)
        if stats.get("status") == "failed" and stats.get("input") not in extract:
            failed.append({"input": stats.get("input"), "error": stats.get("message", "")})
    last_extract = _read(corpus.root / "stats" / "extract.json")
    for name, info in last_extract.get("inputs", {}).items():
        if info.get("status") == "failed" and name not in {f["input"] for f in failed} \
                and name not in extract:
            failed.append({"input": name, "error": info.get("message", "")})

    build = Ledger(corpus.root, "build").entries()
    chains = sum(e.get("stats", {}).get("chains", 0) for e in build.values())
    newest_chains = 0.0
    for bucket in corpus.nonempty_buckets("comments"):
        chains_file = corpus.chains_file(bucket)
        inputs = corpus.bucket_files("comments", bucket) + corpus.bucket_files("submissions", bucket)
        newest_input = max((p.stat().st_mtime for p in inputs), default=0)
        if not chains_file.exists() or f"bucket={bucket:05d}" not in build:
            stale.append(f"build: bucket {bucket:05d} has no chains yet")
        else:
            newest_chains = max(newest_chains, chains_file.stat().st_mtime)
            if newest_input > chains_file.stat().st_mtime:
                stale.append(f"build: bucket {bucket:05d}: its comments are newer than its chains")

    shard_stats = _read(corpus.root / "stats" / "filter.json") if corpus.shards_dir.is_dir() else {}
    shards = {s: v.get("out", 0) for s, v in shard_stats.get("splits", {}).items()}
    shard_files = list(corpus.shards_dir.glob("*/*.parquet")) if shard_stats else []
    oldest_shard = min((p.stat().st_mtime for p in shard_files), default=0)
    if newest_chains and (not shard_stats or oldest_shard < newest_chains):
        stale.append("filter: the shards are older than the chains" if shard_stats
                     else "filter: no shards yet")

    runs = meta.get("runs", {})
    return {
        "corpus": str(corpus.root), "buckets": corpus.buckets,
        "months": dict(sorted(months.items())),
        "rows": {"comments": rows.get("comments", 0), "submissions": rows.get("submissions", 0),
                 "chains": chains, "shards": shards, "shards_total": sum(shards.values())},
        "quarantined": quarantined, "failed_inputs": failed, "stale": stale,
        "preset": (meta.get("filter") or {}).get("preset"),
        "last_runs": {s: runs[s] for s in STAGES if s in runs},
    }


def format_status(status: dict) -> str:
    from datetime import datetime, timezone

    r = status["rows"]
    lines = [f"corpus {status['corpus']} ({status['buckets']} buckets, preset "
             f"{status['preset'] or 'none yet'})",
             "months: " + (", ".join(f"{m} ({', '.join(f'{n:,} {k}' for k, n in v.items())})"
                                     for m, v in status["months"].items()) or "none"),
             f"rows: {r['comments']:,} comments, {r['submissions']:,} submissions, "
             f"{r['chains']:,} chains, {r['shards_total']:,} in shards ("
             + ", ".join(f"{s} {n:,}" for s, n in r["shards"].items()) + ")",
             f"quarantined lines: {status['quarantined']:,}"]
    lines.append(f"failed inputs: {len(status['failed_inputs'])}")
    lines += [f"  {f['input']}: {f['error']}" for f in status["failed_inputs"]]
    lines.append(f"stale: {len(status['stale'])}" + ("" if status["stale"] else " (up to date)"))
    lines += [f"  {s}" for s in status["stale"]]
    lines.append("last runs:")
    for stage, run in status["last_runs"].items():
        when = datetime.fromtimestamp(run["finished"], timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  {stage:8s} {when}  exit {run['exit_status']}  {run['seconds']:.1f} s"
                     + (f"  ({'; '.join(run['problems'])})" if run.get("problems") else ""))
    if not status["last_runs"]:
        lines.append("  none recorded")
    return "\n".join(lines)
