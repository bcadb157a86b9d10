"""Comment lines straight from columns: one compiled %-format per era, strings escaped in bulk.

    f = CommentLineFormatter(ERAS["2005"])
    f.lines({"id": ["c13"], "body": ["Hi \\"there\\""], ...})   # ['{"controversiality":0,"body":...}']

Building a dict per line and serialising it costs more than the rest of the generator, so the
era's template is compiled once into a format string: static keys become literal JSON, dynamic
keys placeholders. Text columns (body, author) are JSON-escaped a whole column at a time: one
`orjson.dumps` of the list, split on `","` (inside an escaped string every `"` is preceded by a
backslash, so that separator cannot occur within an item). The result is exactly
what the era's encoder (`EraSchema.encode`) writes for the same record; tests check that.

Variants: a deleted account's record lacks the author_* keys (2019+), and a deleted/removed body
is `collapsed` in 2024; each variant has its own format.
"""

from __future__ import annotations

import json

import orjson

from rdial.synth.eras import DELETED_AUTHOR_DROPS, EraSchema

# Dynamic comment keys and how their values are rendered.
#   safe: str that needs no JSON escaping (ids, names from fixed alphabets) -> "%s"
#   text: str escaped in bulk (body, author) -> "%s" with the escaped content
#   int:  %d      raw: already JSON (true/false/null/"moderator") -> %s
#   created/created_local: the era's number or string form of a timestamp
COMMENT_KEYS = {
    "id": "safe", "link_id": "safe", "parent_id": "safe", "author": "text", "body": "text",
    "subreddit": "safe", "subreddit_id": "safe", "created_utc": "created", "score": "int",
    "retrieved_on": "int", "distinguished": "raw", "controversiality": "int", "ups": "int",
    "stickied": "raw", "name": "safe", "created": "created_local", "permalink": "safe",
    "subreddit_name_prefixed": "safe", "updated_on": "int", "_meta": "meta",
    "is_submitter": "raw", "author_fullname": "safe", "author_created_utc": "int",
}
TEXT_KEYS = ("author", "body")
PLAIN_VARIANT, GONE_VARIANT, GONE_EMPTY_VARIANT = 0, 1, 2


def escape_many(values: list[str], ascii: bool) -> list[str]:
    """JSON-escaped contents (no surrounding quotes) of many strings, in one orjson call.

    orjson writes non-ASCII as is; for an era that escaped it (`\\uXXXX`), the few non-ASCII
    strings are redone one by one with the stdlib encoder.
    """
    if not values:
        return []
    out = orjson.dumps(values).decode()[2:-2].split('","')
    if ascii:
        for i, v in enumerate(values):
            if not v.isascii():
                out[i] = json.dumps(v)[1:-1]
    return out


def _number_format(kind: str, era: EraSchema, template: dict) -> str:
    if kind == "created":
        return {int: "%d", str: '"%d"', float: "%d.0"}[era.created_type]
    local = template.get("created")
    return "%d.0" if isinstance(local, float) or local is None else "%d"


class CommentLineFormatter:
    def __init__(self, era: EraSchema) -> None:
        self.era = era
        self.variants = [self._compile(t) for t in self._variant_templates(era.comment)]

    @staticmethod
    def _variant_templates(t: dict) -> list[dict]:
        gone = {k: v for k, v in t.items() if k not in DELETED_AUTHOR_DROPS}
        gone_empty = dict(gone)
        if "collapsed_reason_code" in t:
            gone_empty.update(collapsed=True, collapsed_reason_code="DELETED")
        return [t, gone, gone_empty]

    def _compile(self, template: dict) -> tuple[str, list[str]]:
        """(format string, dynamic keys in argument order) for one key layout."""
        parts, keys = [], []
        for key, value in template.items():
            kind = COMMENT_KEYS.get(key)
            head = json.dumps(key) + ":"
            if kind is None:
                static = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
                parts.append(head + static.replace("%", "%%"))
                continue
            keys.append(key)
            if kind in ("safe", "text"):
                parts.append(head + '"%s"')
            elif kind == "int":
                parts.append(head + "%d")
            elif kind == "raw":
                parts.append(head + "%s")
            elif kind == "meta":
                parts.append(head + '{"retrieved_2nd_on":%d}')
            else:
                parts.append(head + _number_format(kind, self.era, template))
        return "{" + ",".join(parts) + "}", keys

    def lines(self, cols: dict[str, list], variant: list[int] | None = None) -> list[str]:
        """One line per row. `cols` holds every key of COMMENT_KEYS this era uses, as Python
        values (text unescaped; `_meta` the retrieved_2nd_on number); `variant` per row."""
        cols = dict(cols)
        for key in TEXT_KEYS:
            cols[key] = escape_many(cols[key], self.era.ascii)
        out = self._render(PLAIN_VARIANT, cols, None)
        if variant is not None:
            for v in (GONE_VARIANT, GONE_EMPTY_VARIANT):
                if self.variants[v] == self.variants[PLAIN_VARIANT]:
                    continue                        # this era keeps every key anyway
                rows = [i for i, x in enumerate(variant) if x == v]
                for i, line in zip(rows, self._render(v, cols, rows)):
                    out[i] = line
        if self.era.slashes:
            out = [line.replace("/", "\\/") for line in out]
        return out

    def _render(self, v: int, cols: dict[str, list], rows: list[int] | None) -> list[str]:
        fmt, keys = self.variants[v]
        if rows is None:
            columns = [cols[k] for k in keys]
        else:
            columns = [[cols[k][i] for i in rows] for k in keys]
        return [fmt % row for row in zip(*columns)]
