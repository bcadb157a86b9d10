"""Manifest: what `rdial synth` planted, so tests of later stages can assert exact numbers.

    python -c "from rdial.synth import Manifest; m = Manifest.load('dumps/manifest.json'); \
               print(m.counts('2005-12'))"

Shape of manifest.json:
  {"config": {...SynthConfig...},
   "files":  {"RC_2005-12.zst": {"kind": "RC", "month": "2005-12", "lines": 10000,
                                 "eras": {"2005": 10000}}, ...},
   "months": {"2005-12": {"counts": {"deleted": 400, ...},      # len() of each id list below
                          "ids": {"deleted": ["c2a", ...], ...},
                          "stats": {"threads": 812, "max_depth": 9, ...}}}}
Id lists (comment ids are bare base36; thread ids are "t3_..."):
  deleted, removed        body "[deleted]" / "[removed]" (author "[deleted]" too)
  deleted_authors         author "[deleted]" but the body kept
  bots                    comments by AutoModerator and friends
  duplicates              ids written twice in the month's RC file (second copy: later
                          retrieved_on, different score); each id listed once
  dropped                 comments generated but left out of the dump
  missing_parents         written comments whose parent comment is not in any dump
  cross_month_replies     comments whose parent (comment or submission) is in an earlier month
  cross_month_comments    all comments of this month in threads created in an earlier month
  url, quote, shouting, long_word, unicode, newlines, repetition, markup, bland
                          comments whose body carries that planted feature (one per body)
  nsfw_threads            threads created this month with over_18 true
  missing_submissions     threads with comments but no RS line (in any month)
  deleted_submissions, removed_submissions   RS lines whose selftext is "[deleted]"/"[removed]"
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(kw_only=True)
class Manifest:
    config: dict = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    months: dict[str, dict] = field(default_factory=dict)

    def ids(self, kind: str, month: str | None = None) -> set[str]:
        """Ids planted as `kind` in `month` (all months when None)."""
        months = [month] if month else list(self.months)
        return {i for m in months for i in self.months[m]["ids"].get(kind, [])}

    def counts(self, month: str) -> dict[str, int]:
        return dict(self.months[month]["counts"])

    def lines(self, name: str) -> int:
        return int(self.files[name]["lines"])

    def to_dict(self) -> dict:
        return {"config": self.config, "files": self.files, "months": self.months}

    def save(self, path: Path) -> None:
        from rdial.publish import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        raw = json.loads(Path(path).read_text())
        return cls(config=raw["config"], files=raw["files"], months=raw["months"])
