"""Pushshift line schemas by era: key names, `created_utc` type, JSON escaping.

    python -c "from rdial.synth.eras import ERAS; print({e: len(s.comment) for e, s in ERAS.items()})"

Templates in `data/eras.json` were taken from real lines (key names and the type of each static
value; every string that could identify anyone blanked):
  2005  comments 18 keys, submissions 56; `created_utc` int; ASCII-escaped JSON (RC_2005-12)
  2009  comments 21 keys (+`name`), submissions 39; `created_utc` a *string*
  2019  comments 47 keys, submissions 76 (r/AskMen 2019-10); int; ASCII-escaped, "\\/" slashes
  2024  comments 71 keys (with `_meta`), submissions 108; `created_utc` a *float*; raw UTF-8
`mixed` draws the era of every line at random (what a concatenation of eras looks like).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import orjson

ERA_NAMES = ("2005", "2009", "2019", "2024")
ERA_CHOICES = ("auto",) + ERA_NAMES + ("mixed",)

# Author keys that real 2019+ records lack once the account is gone (71 -> 66 keys in 2024).
DELETED_AUTHOR_DROPS = ("author_fullname", "author_flair_richtext", "author_flair_type",
                        "author_patreon_flair", "author_premium", "author_created_utc")


@dataclass(frozen=True)
class EraSchema:
    name: str
    comment: dict          # key -> static default, in the era's key order
    submission: dict
    created_type: type     # int, str or float
    ascii: bool            # escape non-ASCII as \\uXXXX (older Pushshift ingest)
    slashes: bool          # escape "/" as "\\/" (2019-era ingest)

    def stamp(self, t: int):
        """`created_utc` as this era wrote it."""
        return self.created_type(t) if self.created_type is not str else str(t)

    def encode(self, record: dict) -> bytes:
        """One dump line without its newline, escaped the way this era's dumps were."""
        line = orjson.dumps(record)
        if self.ascii and not line.isascii():
            line = json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode()
        if self.slashes:
            line = line.replace(b"/", b"\\/")
        return line


def _load() -> dict[str, EraSchema]:
    raw = json.loads(resources.files("rdial.synth").joinpath("data/eras.json").read_text())
    types = {"int": int, "str": str, "float": float}
    return {name: EraSchema(name=name, comment=v["comment"], submission=v["submission"],
                            created_type=types[v["created_utc"]], ascii=v["ascii"],
                            slashes=v["slashes"])
            for name, v in raw.items()}


ERAS = _load()


def era_of_month(month: str) -> str:
    """The era whose schema a real dump of `month` ("YYYY-MM") has."""
    year = int(month[:4])
    if year <= 2007:
        return "2005"
    if year <= 2016:
        return "2009"
    if year <= 2022:
        return "2019"
    return "2024"
