"""rdial prune: delete the extracted tables of months whose threads are all archived.

    rdial prune corpus --dry-run     # what would go, month by month, and the bytes freed
    rdial prune corpus               # delete them

What a built corpus keeps, per comment: its row in comments/bucket=N/RC_<month>.parquet (every
column of rdial.schema.COMMENTS, zstd), the same for submissions, and its turns in the chains.
Once a bucket's chains are built, a month's extracted files are needed again only if a later
month reaches its threads (an incremental build, rdial/build/incremental.py, reads the rows of the
threads a new month touches) or if the bucket is rebuilt in full (new build settings, --force, a
changed input). Reddit archives a thread six months after it is created, so the threads of
month m (created before m ends) take no comment after end(m) + 180 days. prune removes the
comments/ and submissions/ files of month m when:

  - the corpus holds every month from m to its newest comment month N, and
    end(m) + --archive-days <= end(N): every thread of m was archived before N ended;
  - the build is up to date: every bucket's ledger records each of its files with the file's
    fingerprint now (else it refuses and names the bucket: run `rdial build` first).

What stays: chains/, shards/, quarantine/ and stats/ (the chains are the corpus; the shards the
filter stage's output), the months inside the window (a later month still reaches their
threads), and the ledger, which keeps each removed file's fingerprint and id ranges. A later
month that does reach a pruned month's thread (a comment later than the window, or a month added
out of order) fails its bucket with a message naming the file to extract again; so does a full
rebuild of a bucket (changed settings, --force). Extract's own ledger still lists the pruned
input as done: re-extract it with `rdial extract RC_<month>.zst --out CORPUS --force`.

Order of work, so a killed prune loses nothing: per bucket, its ledger entry is rewritten (the
files marked pruned, atomically) before its files are deleted; a file marked pruned but still
there is taken as present by the build and deleted by the next prune.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import arg, require
from rdial.corpus import Corpus
from rdial.errors import RdialError
from rdial.ledger import Ledger, file_fingerprint

ARCHIVE_DAYS = 180  # Reddit archived threads six months after they were posted
TABLES = ("comments", "submissions")
_MONTH = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?!\d)")


@dataclass(kw_only=True)
class PruneConfig:
    corpus: Path = field(metadata=arg("corpus directory", positional=True))
    archive_days: int = field(default=ARCHIVE_DAYS, metadata=arg(
        "days after which a thread takes no comment (Reddit's archive: 180)", metavar="DAYS"))
    dry_run: bool = field(default=False, metadata=arg(
        "only list what would be removed and the bytes it frees"))

    def __post_init__(self):
        self.corpus = Path(self.corpus)
        require(self.archive_days >= 1, "--archive-days", "must be at least 1")


@dataclass
class PrunePlan:
    newest: str | None                       # the corpus' newest comment month
    months: dict[str, dict]                  # month -> {"files": n, "bytes": n}, prunable ones
    files: dict[int, list[tuple[str, int]]]  # bucket -> [(relative path, bytes)]
    kept: list[str]                          # months kept (inside the window or with a gap)

    @property
    def bytes(self) -> int:
        return sum(m["bytes"] for m in self.months.values())


def month_end(month: str) -> int:
    """Unix time of the first second after `month` (YYYY-MM)."""
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return calendar.timegm((year, mon, 1, 0, 0, 0))


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}"


def _month(name: str) -> str | None:
    """YYYY-MM of an extracted file (RC_2012-01.zst.parquet), None without one."""
    match = _MONTH.search(name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def stale_buckets(corpus: Corpus, ledger: Ledger) -> list[str]:
    """Why the build is not up to date, one line per bucket (empty: it is)."""
    entries = ledger.entries()
    why = []
    buckets = sorted(set(corpus.nonempty_buckets("comments")) | set(corpus.nonempty_buckets("submissions")))
    for bucket in buckets:
        key = f"bucket={bucket:05d}"
        entry = entries.get(key)
        if entry is None or not corpus.chains_file(bucket).exists():
            why.append(f"bucket {bucket:05d} has no chains yet")
            continue
        if "inputs" not in entry:
            why.append(f"bucket {bucket:05d} was built before the ledger kept its inputs "
                       f"(run `rdial build {corpus.root} --force` once)")
            continue
        for table in TABLES:
            for path in corpus.bucket_files(table, bucket):
                rel = str(path.relative_to(corpus.root))
                meta = entry["inputs"].get(rel)
                if meta is None or meta["fingerprint"] != file_fingerprint(path):
                    why.append(f"bucket {bucket:05d}: {rel} is not built yet")
                    break
            else:
                continue
            break
    return why


def plan_prune(corpus: Corpus, archive_days: int = ARCHIVE_DAYS) -> PrunePlan:
    """What prune would remove; raises RdialError (naming a bucket) when the build is stale."""
    ledger = Ledger(corpus.root, "build")
    stale = stale_buckets(corpus, ledger)
    if stale:
        more = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        raise RdialError(f"prune: the build is not up to date: {stale[0]}{more}; run "
                         f"`rdial build {corpus.root}` first (nothing was removed)")
    present: dict[str, list[tuple[int, Path]]] = {}
    comment_months = set()
    for table in TABLES:
        for bucket_dir in sorted(corpus.table_dir(table).glob("bucket=*")):
            bucket = int(bucket_dir.name.split("=", 1)[1])
            for path in corpus.bucket_files(table, bucket):
                month = _month(path.name)
                if month is None:
                    continue
                present.setdefault(month, []).append((bucket, path))
                if table == "comments":
                    comment_months.add(month)
    newest = max(comment_months, default=None)
    plan = PrunePlan(newest=newest, months={}, files={}, kept=[])
    if newest is None:
        return plan
    for month in sorted(present):
        gap = month < newest and _gap(month, newest, comment_months)
        if gap or month_end(month) + archive_days * 86400 > month_end(newest):
            plan.kept.append(month)
            continue
        files = present[month]
        size = 0
        for bucket, path in files:
            n = path.stat().st_size
            size += n
            plan.files.setdefault(bucket, []).append((str(path.relative_to(corpus.root)), n))
        plan.months[month] = {"files": len(files), "bytes": size}
    return plan


def _gap(month: str, newest: str, months: set[str]) -> bool:
    """A month between `month` and `newest` has no comments in the corpus."""
    while month < newest:
        month = next_month(month)
        if month not in months:
            return True
    return False


def prune(corpus: Corpus, plan: PrunePlan) -> int:
    """Remove the planned files, bucket by bucket: ledger first, then the files. Bytes freed."""
    ledger = Ledger(corpus.root, "build")
    freed = 0
    for bucket, files in sorted(plan.files.items()):
        entry = ledger.get(f"bucket={bucket:05d}")
        for rel, _ in files:
            entry["inputs"][rel]["pruned"] = True
        ledger.replace(entry)
        for rel, size in files:
            (corpus.root / rel).unlink(missing_ok=True)
            freed += size
    for bucket, entry in ledger.entries().items():  # marked by a killed prune, still there
        for rel, meta in entry.get("inputs", {}).items():
            path = corpus.root / rel
            if meta.get("pruned") and path.exists() and file_fingerprint(path) == meta["fingerprint"]:
                freed += path.stat().st_size
                path.unlink()
    return freed


def run_prune(cfg: PruneConfig) -> tuple[PrunePlan, int]:
    corpus = Corpus.open(cfg.corpus)
    if cfg.dry_run:
        return plan_prune(corpus, cfg.archive_days), 0
    with corpus.lock("prune"):
        plan = plan_prune(corpus, cfg.archive_days)
        return plan, prune(corpus, plan)


def format_plan(plan: PrunePlan, freed: int | None) -> str:
    if plan.newest is None:
        return "prune: the corpus holds no comments; nothing to remove"
    lines = [f"prune: newest month {plan.newest}; "
             f"kept (threads still open, or a month missing after them): "
             f"{', '.join(plan.kept) or 'none'}"]
    for month, info in plan.months.items():
        lines.append(f"prune: {month}: {info['files']} files, {info['bytes']:,} bytes")
    verb = "would free" if freed is None else "freed"
    lines.append(f"prune: {len(plan.months)} months, {sum(len(f) for f in plan.files.values())} "
                 f"files, {verb} {plan.bytes if freed is None else freed:,} bytes")
    return "\n".join(lines)
