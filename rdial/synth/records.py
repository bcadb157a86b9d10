"""Turn one comment or submission into a dict shaped like a real Pushshift line of its era.

    from rdial.synth.records import CommentFactory
    from rdial.synth.eras import ERAS
    f = CommentFactory(ERAS["2005"])
    rows = f.records(f.columns(ids=["c13"], link_ids=["t3_17863"], parent_ids=["t3_17863"], ...))

Only the keys the era's template has are set, so a 2005 line keeps exactly its 18 keys and a
2024 line its 71 (66 when the author is gone, as in the real files).
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


class CommentFactory:
    """Builds comment records for one era from columns (one list per JSON key).

    `records(cols)` copies the template once per line and updates it from the columns, so the
    per-line Python work is a dict copy and one update.
    """

    def __init__(self, era: EraSchema) -> None:
        self.era = era
        self.template = era.comment
        self.keys = list(self.template)
        self.drops = [k for k in DELETED_AUTHOR_DROPS if k in self.template]
        created = self.template.get("created")
        self.created_type = type(created) if created is not None else float

    def columns(self, *, ids: list[str], link_ids: list[str], parent_ids: list[str],
                authors: list[str], bodies: list[str], subreddits: list[str],
                created: list[int], scores: list[int], retrieved: list[int], slugs: list[str],
                distinguished: list, stickied: list[bool], controversiality: list[int],
                is_submitter: list[bool]) -> dict[str, list]:
        """Every dynamic key this era has, as a column."""
        t = self.template
        stamp = self.era.stamp
        cols = {"id": ids, "link_id": link_ids, "parent_id": parent_ids, "author": authors,
                "body": bodies, "subreddit": subreddits,
                "subreddit_id": [subreddit_id(x) for x in subreddits],
                "created_utc": [stamp(x) for x in created], "score": scores,
                "retrieved_on": retrieved, "distinguished": distinguished,
                "controversiality": controversiality}
        optional = {
            "ups": lambda: scores,
            "stickied": lambda: stickied,
            "name": lambda: ["t1_" + x for x in ids],
            "created": lambda: [self.created_type(x) for x in created],
            "permalink": lambda: [f"/r/{s}/comments/{l[3:]}/{g}/{i}/" for s, l, g, i
                                  in zip(subreddits, link_ids, slugs, ids)],
            "subreddit_name_prefixed": lambda: ["r/" + x for x in subreddits],
            "updated_on": lambda: [x + 15 for x in retrieved],
            "_meta": lambda: [{"retrieved_2nd_on": x + 129594} for x in retrieved],
            "is_submitter": lambda: is_submitter,
            "author_fullname": lambda: [author_fullname(a) for a in authors],
            "author_created_utc": lambda: [1100000000 + hash_small(a) for a in authors],
        }
        for key, make in optional.items():
            if key in t:
                cols[key] = make()
        return cols

    def records(self, cols: dict[str, list]) -> list[dict]:
        """One dict per row: a copy of the template (keeps the era's key order) + the columns."""
        keys = [k for k in cols if k in self.template]
        copy = self.template.copy
        out = []
        for row in zip(*(cols[k] for k in keys)):
            rec = copy()
            rec.update(zip(keys, row))
            out.append(rec)
        for rec in out:
            if rec["author"] == "[deleted]":
                self._author_gone(rec)
        return out

    def _author_gone(self, rec: dict) -> None:
        """Real 2019+ records of a deleted account lack the author_* details."""
        for k in self.drops:
            del rec[k]
        if "collapsed_reason_code" in rec and rec["body"] in ("[deleted]", "[removed]"):
            rec["collapsed"] = True
            rec["collapsed_reason_code"] = "DELETED"


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
