"""Turn one comment or submission into a dict shaped like a real Pushshift line of its era.

    from rdial.synth.records import CommentFactory
    from rdial.synth.eras import ERAS
    CommentFactory(ERAS["2005"]).make(id="c13", link_id="t3_17863", parent_id="t3_17863", ...)

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
    """Builds comment records for one era; `make` is called once per line, so it stays flat."""

    def __init__(self, era: EraSchema) -> None:
        self.era = era
        t = era.comment
        self.template = t
        self.has = {k: (k in t) for k in (
            "name", "created", "permalink", "updated_on", "_meta", "author_fullname",
            "author_created_utc", "ups", "stickied", "subreddit_name_prefixed", "collapsed",
            "collapsed_reason_code", "is_submitter", "downs")}
        self.drops = [k for k in DELETED_AUTHOR_DROPS if k in t]
        self.created_type = type(t.get("created")) if t.get("created") is not None else float

    def make(self, *, id: str, link_id: str, parent_id: str, author: str, body: str,
             subreddit: str, created: int, score: int, retrieved_on: int, slug: str,
             distinguished: str | None = None, stickied: bool = False,
             controversiality: int = 0, is_submitter: bool = False) -> dict:
        rec = dict(self.template)
        has = self.has
        rec["id"] = id
        rec["link_id"] = link_id
        rec["parent_id"] = parent_id
        rec["author"] = author
        rec["body"] = body
        rec["subreddit"] = subreddit
        rec["subreddit_id"] = subreddit_id(subreddit)
        rec["created_utc"] = self.era.stamp(created)
        rec["score"] = score
        rec["retrieved_on"] = retrieved_on
        rec["distinguished"] = distinguished
        rec["controversiality"] = controversiality
        if has["ups"]:
            rec["ups"] = score
        if has["stickied"]:
            rec["stickied"] = stickied
        if has["name"]:
            rec["name"] = "t1_" + id
        if has["created"]:
            rec["created"] = self.created_type(created)
        if has["permalink"]:
            rec["permalink"] = f"/r/{subreddit}/comments/{link_id[3:]}/{slug}/{id}/"
        if has["subreddit_name_prefixed"]:
            rec["subreddit_name_prefixed"] = "r/" + subreddit
        if has["updated_on"]:
            rec["updated_on"] = retrieved_on + 15
        if has["_meta"]:
            rec["_meta"] = {"retrieved_2nd_on": retrieved_on + 129594}
        if has["is_submitter"]:
            rec["is_submitter"] = is_submitter
        if author == "[deleted]":
            for k in self.drops:
                del rec[k]
            if has["collapsed_reason_code"] and body in ("[deleted]", "[removed]"):
                rec["collapsed"] = True
                rec["collapsed_reason_code"] = "DELETED"
        else:
            if has["author_fullname"]:
                rec["author_fullname"] = author_fullname(author)
            if has["author_created_utc"]:
                rec["author_created_utc"] = 1100000000 + hash_small(author)
        return rec


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
