"""SynthConfig: what `rdial synth` writes (flags map one to one onto its fields).

    rdial synth --out dumps --months 2005-12 2006-01 --comments 5000 --seed 7 --manifest
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import arg, require
from rdial.synth.eras import ERA_CHOICES

FORMATS = ("zst", "bz2", "xz", "gz", "json")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(kw_only=True)
class SynthConfig:
    out: Path = field(metadata=arg("directory to write RC_/RS_ dumps (and manifest.json) into"))
    months: list[str] = field(default_factory=lambda: ["2005-12"], metadata=arg(
        "months to write, YYYY-MM; later months get replies to threads of earlier ones",
        metavar="YYYY-MM"))
    format: str = field(default="zst", metadata=arg(
        "compression: zst (window log 31, like Pushshift), bz2, xz, gz or json (plain NDJSON)",
        choices=FORMATS))
    comments: int = field(default=10_000, metadata=arg("lines in each RC file (per month)"))
    submissions_ratio: float = field(default=0.1, metadata=arg(
        "extra RS-only threads (no comments) per commented thread"))
    seed: int = field(default=0, metadata=arg("random seed; same config -> byte-identical files"))
    era: str = field(default="auto", metadata=arg(
        "line schema: auto (by month: <=2007 2005, <=2016 2009, <=2022 2019, else 2024), "
        "one era for all months, or mixed (each line its own era)", choices=ERA_CHOICES))
    manifest: bool = field(default=False, metadata=arg(
        "also write manifest.json: line counts and ids of everything planted"))
    level: int = field(default=1, metadata=arg(
        "compression level (zst 1-22, gz/bz2 1-9, xz 0-9); 1 is fastest, zst 3 ~4%% smaller"))
    deleted_rate: float = field(default=0.04, metadata=arg('share of "[deleted]" comments'))
    removed_rate: float = field(default=0.02, metadata=arg('share of "[removed]" comments'))
    duplicate_rate: float = field(default=0.01, metadata=arg(
        "share of RC lines that repeat an earlier record (later retrieved_on, new score)"))
    missing_parent_rate: float = field(default=0.005, metadata=arg(
        "share of comments left out of the dump although others reply to them"))
    cross_month_rate: float = field(default=0.03, metadata=arg(
        "share of a month's comments that continue threads of the previous listed month"))
    bot_rate: float = field(default=0.01, metadata=arg("share of comments written by bots"))
    nsfw_rate: float = field(default=0.03, metadata=arg(
        "share of threads marked over_18 (besides those in NSFW subreddits)"))
    max_thread: int = field(default=500, metadata=arg("largest thread, in comments"))
    workers: int = field(default=0, metadata=arg(
        "processes making comment text (0: one per core); months under 80,000 lines are made "
        "in-process. Any value gives the same bytes"))

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.months = list(self.months)
        require(len(self.months) > 0, "--months", "give at least one month, e.g. 2005-12")
        for m in self.months:
            require(bool(_MONTH.match(m)), "--months", f"{m!r} is not a month like 2005-12")
        require(len(set(self.months)) == len(self.months), "--months", "a month is listed twice")
        require(self.months == sorted(self.months), "--months", "list months oldest first")
        require(self.comments >= 0, "--comments", "must be 0 or more")
        require(self.max_thread >= 1, "--max-thread", "must be at least 1")
        require(self.workers >= 0, "--workers", "must be 0 (one per core) or more")
        require(self.submissions_ratio >= 0, "--submissions-ratio", "must be 0 or more")
        for name in ("deleted_rate", "removed_rate", "duplicate_rate", "missing_parent_rate",
                     "cross_month_rate", "bot_rate", "nsfw_rate"):
            value = getattr(self, name)
            require(0.0 <= value <= 0.5, "--" + name.replace("_", "-"), "must be between 0 and 0.5")
        require(self.deleted_rate + self.removed_rate + self.bot_rate <= 0.5, "--deleted-rate",
                "deleted + removed + bot rates must stay at or under 0.5")
        levels = {"zst": (1, 22), "gz": (1, 9), "bz2": (1, 9), "xz": (0, 9), "json": (0, 99)}
        lo, hi = levels[self.format]
        require(lo <= self.level <= hi, "--level", f"{self.format} takes {lo}..{hi}")
