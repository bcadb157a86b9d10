"""Submission records shaped like a real Pushshift line of their era, and shared value helpers.

    from rdial.synth.records import SubmissionFactory
    from rdial.synth.eras import ERAS
    SubmissionFactory(ERAS["2005"]).make(id="17863", author="frjo", title="...", ...)

Only the keys the era's template has are set, so a 2005 submission keeps exactly its 56 keys and
a 2024 one its 108. (Comment lines, ten times as many, are formatted in `rdial.synth.lines`.)
"""

from __future__ import annotations

import functools

from rdial.synth.eras import DELETED_AUTHOR_DROPS, EraSchema

SUBREDDIT_IDS: dict[str, str] = {}


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def subreddit_id(name: str) -> str:
    if name not in SUBREDDIT_IDS:
        SUBREDDIT_IDS[name] = "t5_6" if name == "reddit.com" else "t5_" + _base36(
            sum(ord(c) * 31 ** i for i, c in enumerate(name)) % 36 ** 5 + 36 ** 4)
    return SUBREDDIT_IDS[name]


@functools.lru_cache(maxsize=1 << 16)
def author_fullname(author: str) -> str:
    return "t2_" + _base36(sum(ord(c) * 131 ** i for i, c in enumerate(author)) % 36 ** 7)


@functools.lru_cache(maxsize=1 << 16)
def hash_small(s: str) -> int:
    return sum(ord(c) * 7919 ** i for i, c in enumerate(s)) % 300_000_000


class SubmissionFactory:
    """Builds submission (RS) records for one era."""

    def __init__(self, era: EraSchema) -> None:
        self.era = era
        self.template = era.submission
        t = self.template
        self.optional = [k for k in ("name", "created", "permalink", "updated_on", "_meta",
                                     "ups", "subreddit_name_prefixed", "author_fullname",
                                     "thumbnail", "is_self", "retrieved_on", "retrieved_utc",
                                     "author_created_utc", "subreddit_subscribers")
                         if k in t]
        self.drops = [k for k in DELETED_AUTHOR_DROPS if k in t]
        # `created` (local time) was an int in 2014 lines and a float from 2019 on
        self.created_type = type(t.get("created")) if t.get("created") is not None else float

    def make(self, *, id: str, author: str, title: str, selftext: str, url: str, domain: str,
             is_self: bool, over_18: bool, subreddit: str, created: int, score: int,
             num_comments: int, retrieved_on: int, slug: str) -> dict:
        rec = dict(self.template)
        rec["id"] = id
        rec["author"] = author
        rec["title"] = title
        rec["selftext"] = selftext
        rec["url"] = url
        rec["domain"] = domain
        rec["over_18"] = over_18
        rec["subreddit"] = subreddit
        rec["subreddit_id"] = subreddit_id(subreddit)
        rec["created_utc"] = self.era.stamp(created)
        rec["score"] = score
        rec["num_comments"] = num_comments
        values = {
            "name": "t3_" + id, "created": self.created_type(created),
            "permalink": f"/r/{subreddit}/comments/{id}/{slug}/",
            "updated_on": retrieved_on + 15, "_meta": {"retrieved_2nd_on": retrieved_on + 129594},
            "ups": score, "subreddit_name_prefixed": "r/" + subreddit,
            "author_fullname": author_fullname(author),
            "thumbnail": "nsfw" if over_18 else ("self" if is_self else "default"),
            "is_self": is_self, "retrieved_on": retrieved_on, "retrieved_utc": retrieved_on,
            "author_created_utc": 1100000000 + hash_small(author),
            "subreddit_subscribers": 1000 + hash_small(subreddit) % 5_000_000,
        }
        for k in self.optional:
            rec[k] = values[k]
        if author == "[deleted]":
            for k in self.drops:
                del rec[k]
        return rec
