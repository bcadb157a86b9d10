"""One table schema for every era: what is read from a JSON record, and how it is normalised.

    python -c "from rdial.extract.normalize import COMMENT_SPEC; print(COMMENT_SPEC.read_schema)"

Two ways in, one way out (both in rdial/extract/decode.py):
  block     msgspec decodes a block's lines into Structs of the fields below, typed as the
            unions the eras write; columns convert with the same rules as `coerce_record`.
  per line  the reference for the lines the block path does not accept: orjson per line,
            `coerce_record` turns each dict into the canonical read schema (strings that hold
            numbers, floats that hold ints, "true"/"false" ...), converters planned once by
            `field_plan`. Both end in `normalize_table`: identical rows and reasons.

`normalize_table` applies the era rules vectorised:
  id          bare: "t1_c13" -> "c13" (and taken from `name` when `id` is absent)
  link_id     always "t3_...": "17863" -> "t3_17863"
  parent_id   always prefixed: a bare parent equal to the thread id -> "t3_", else "t1_"
  created_utc int64 seconds, from int, "1251763200", 1706745600.0 or "1.2e9"
and splits off rows missing a required field (comments: id, link_id, parent_id, body;
submissions: id) with the reason `missing_field:<first missing field>`.

Submissions without a title are kept (title null): the record still carries `over_18` for the
NSFW rule and the thread's subreddit, and `build` treats a null title as "no title turn".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rdial import schema


@dataclass(frozen=True)
class TableSpec:
    kind: str                    # "comments" or "submissions"
    table_schema: pa.Schema      # the contract (rdial.schema)
    read_schema: pa.Schema       # JSON fields read, canonical types (created_utc int64)
    required: tuple[str, ...]
    id_prefix: str               # the prefix a full name carries: "t1_" or "t3_"

    def json_schema(self, created_type: pa.DataType) -> pa.Schema:
        """The read schema with `created_utc` typed as this file's era writes it."""
        i = self.read_schema.get_field_index("created_utc")
        return self.read_schema.set(i, pa.field("created_utc", created_type))


COMMENT_SPEC = TableSpec(
    kind="comments",
    table_schema=schema.COMMENTS,
    read_schema=pa.schema([
        ("id", pa.string()), ("name", pa.string()), ("link_id", pa.string()),
        ("parent_id", pa.string()), ("author", pa.string()), ("body", pa.string()),
        ("subreddit", pa.string()), ("created_utc", pa.int64()), ("score", pa.int64()),
        ("distinguished", pa.string()), ("stickied", pa.bool_()), ("retrieved_on", pa.int64()),
    ]),
    required=("id", "link_id", "parent_id", "body"),
    id_prefix="t1_",
)

SUBMISSION_SPEC = TableSpec(
    kind="submissions",
    table_schema=schema.SUBMISSIONS,
    read_schema=pa.schema([
        ("id", pa.string()), ("name", pa.string()), ("subreddit", pa.string()),
        ("author", pa.string()), ("title", pa.string()), ("selftext", pa.string()),
        ("over_18", pa.bool_()), ("score", pa.int64()), ("num_comments", pa.int64()),
        ("created_utc", pa.int64()), ("domain", pa.string()), ("url", pa.string()),
        ("retrieved_on", pa.int64()),
    ]),
    required=("id",),
    id_prefix="t3_",
)

SPECS = {spec.kind: spec for spec in (COMMENT_SPEC, SUBMISSION_SPEC)}


# --- which table a file feeds -------------------------------------------------------------------
def kind_from_name(name: str) -> str | None:
    """"RC_2005-12.zst" -> comments, "AskMen_submissions_2019-10.zst" -> submissions, else None."""
    upper = name.upper()
    if upper.startswith("RC_"):
        return "comments"
    if upper.startswith("RS_"):
        return "submissions"
    lower = name.lower()
    if "submission" in lower:
        return "submissions"
    if "comment" in lower:
        return "comments"
    return None


def kind_from_record(record: object) -> str | None:
    """Sniff one parsed record: a title means a submission, a body means a comment."""
    if isinstance(record, dict):
        if "title" in record:
            return "submissions"
        if "body" in record:
            return "comments"
    return None


# --- slow path: one dict at a time ---------------------------------------------------------------
class BadField(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


_INT64_MAX = 2**63 - 1


def _as_int(value):
    if value is None or isinstance(value, bool):
        return None if value is None else _bad()
    if isinstance(value, int):
        return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else _bad()
    if isinstance(value, float):
        return math.floor(value) if math.isfinite(value) and abs(value) < 2**62 else _bad()
    if isinstance(value, str):
        text = value.strip()
        if text == "" or value.lower() == "null":  # "null": a null written as a string
            return None
        try:
            return _as_int(int(text))
        except ValueError:
            try:
                return _as_int(float(text))
            except ValueError:
                return _bad()
    return _bad()


def _as_bool(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() == "null":  # a null written as a string
        return None
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", ""):
        text = value.strip().lower()
        return None if text == "" else text in ("true", "1")
    return _bad()


def _as_str(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ValueError past Python's 4,300-digit limit: bad, as it should be
    return _bad()


def _bad():
    raise ValueError


_COERCE = {pa.string(): _as_str, pa.int64(): _as_int, pa.bool_(): _as_bool}


@dataclass(frozen=True)
class FieldStep:
    name: str
    type: pa.DataType
    convert: object   # value -> canonical value; ValueError when it cannot be read
    required: bool


FieldPlan = tuple  # of FieldStep, in read-schema order


def field_plan(spec: TableSpec) -> FieldPlan:
    """How each read-schema field is converted: computed once per parser, not per record."""
    return tuple(FieldStep(f.name, f.type, _COERCE[f.type], f.name in spec.required)
                 for f in spec.read_schema)


def coerce_record(record: dict, plan: FieldPlan, nulled: dict[str, int]) -> list:
    """Values of the read schema for one record (`plan` from `field_plan`). A required field of
    the wrong kind raises BadField; an optional one becomes null and is counted in
    `nulled[field]`."""
    values = []
    get = record.get
    for step in plan:
        try:
            values.append(step.convert(get(step.name)))
        except ValueError:
            if step.required:
                raise BadField(step.name) from None
            nulled[step.name] = nulled.get(step.name, 0) + 1
            values.append(None)
    return values


def repair_surrogates(text: str) -> str:
    """A lone UTF-16 surrogate escape ("\\ud83d" without its pair; it happens in real dumps)
    decodes in stdlib json but cannot be stored as UTF-8: it becomes U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def rows_to_table(rows: list[list], spec: TableSpec) -> pa.Table:
    """Slow-path rows (from coerce_record) -> a table in the canonical read schema."""
    columns = list(zip(*rows)) if rows else [[] for _ in spec.read_schema]
    return pa.Table.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, spec.read_schema)],
                                schema=spec.read_schema)


# --- both paths: vectorised era rules ------------------------------------------------------------
def _strip_prefix(ids: pa.Array, prefix: str) -> pa.Array:
    has = pc.starts_with(ids, prefix)
    if not pc.any(has).as_py():
        return ids
    return pc.if_else(has, pc.utf8_slice_codeunits(ids, len(prefix)), ids)


def _with_prefix(ids: pa.Array, prefix: str) -> pa.Array:
    has = pc.starts_with(ids, prefix)
    if pc.all(has).as_py() in (True, None):
        return ids
    return pc.if_else(has, ids, pc.binary_join_element_wise(prefix, ids, ""))


def _prefixed_parents(parents: pa.Array, links: pa.Array) -> pa.Array:
    has = pc.or_(pc.starts_with(parents, "t1_"), pc.starts_with(parents, "t3_"))
    if pc.all(has).as_py() in (True, None):
        return parents
    is_thread = pc.equal(pc.binary_join_element_wise("t3_", parents, ""), links)
    fixed = pc.if_else(is_thread, pc.binary_join_element_wise("t3_", parents, ""),
                       pc.binary_join_element_wise("t1_", parents, ""))
    return pc.if_else(has, parents, fixed)


def _created_seconds(created: pa.Array) -> pa.Array:
    # Both ways in already convert created_utc to int64 seconds (int, "1251763200", 1706745600.0).
    return created if created.type == pa.int64() else created.cast(pa.int64())


def normalize_table(raw: pa.Table, spec: TableSpec) -> tuple[pa.Table, np.ndarray, list[str]]:
    """Read-schema table -> (table in the contract schema without `source`/`line`, boolean mask
    of kept rows, reason per dropped row in row order)."""
    col = {name: raw.column(name) for name in raw.column_names}  # chunked: no copies
    ids = _strip_prefix(col["id"], spec.id_prefix)
    if ids.null_count:
        ids = pc.coalesce(ids, _strip_prefix(col["name"], spec.id_prefix))
    col["id"] = ids
    if spec.kind == "comments":
        col["link_id"] = _with_prefix(col["link_id"], "t3_")
        col["parent_id"] = _prefixed_parents(col["parent_id"], col["link_id"])
    col["created_utc"] = _created_seconds(col["created_utc"])
    keep, reasons = _required_mask(col, spec)
    names = [f.name for f in spec.table_schema if f.name not in ("source", "line")]
    table = pa.Table.from_arrays([col[n] for n in names],
                                 schema=pa.schema([spec.table_schema.field(n) for n in names]))
    return table, keep, reasons


def _required_mask(col: dict, spec: TableSpec) -> tuple[np.ndarray, list[str]]:
    n = len(col["id"])
    missing = {f: col[f].is_null().to_numpy(zero_copy_only=False) for f in spec.required
               if col[f].null_count}
    if not missing:
        return np.ones(n, dtype=bool), []
    keep = np.ones(n, dtype=bool)
    first = np.full(n, "", dtype=object)
    for f in spec.required:  # the first missing field in contract order names the reason
        if f in missing:
            newly = missing[f] & keep
            first[newly] = f"missing_field:{f}"
            keep &= ~missing[f]
    return keep, list(first[~keep])
