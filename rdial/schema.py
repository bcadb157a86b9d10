"""The data contracts between stages: one Arrow schema per table, and the thread bucketing.

    python -c "import rdial.schema as s; print(s.COMMENTS)"

Tables (all Parquet, zstd):
  comments     one row per comment record as read (duplicates kept; `build` deduplicates)
  submissions  one row per submission record as read
  chains       one row per dialogue chain, turns oldest first        (build -> filter)
  shards       chains plus per-turn loss weights, split train/valid/test (filter -> train)

Ids: `id` is bare base36 ("c0299an"); `link_id` always carries "t3_"; `parent_id` carries
"t1_" (a comment) or "t3_" (the submission). Times are int64 Unix seconds.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:  # extract never needs polars: importing it costs 0.1 s of every run
    import polars as pl

COMMENTS = pa.schema([
    ("id", pa.string()),            # bare base36
    ("link_id", pa.string()),       # "t3_<id>" of the thread's submission
    ("parent_id", pa.string()),     # "t1_<id>" or "t3_<id>"
    ("author", pa.string()),        # null when absent; "[deleted]" kept as written
    ("body", pa.string()),
    ("subreddit", pa.string()),
    ("created_utc", pa.int64()),
    ("score", pa.int64()),          # nullable (absent in some eras)
    ("distinguished", pa.string()),  # "moderator", "admin" or null
    ("stickied", pa.bool_()),
    ("retrieved_on", pa.int64()),   # when Pushshift fetched the record; dedupe keeps the latest
    ("source", pa.string()),        # input file name, e.g. "RC_2005-12.zst"
    ("line", pa.int64()),           # 1-based line number in `source`
])

SUBMISSIONS = pa.schema([
    ("id", pa.string()),            # bare base36; the thread is "t3_" + id
    ("subreddit", pa.string()),
    ("author", pa.string()),
    ("title", pa.string()),
    ("selftext", pa.string()),
    ("over_18", pa.bool_()),
    ("score", pa.int64()),
    ("num_comments", pa.int64()),
    ("created_utc", pa.int64()),
    ("domain", pa.string()),
    ("url", pa.string()),
    ("retrieved_on", pa.int64()),
    ("source", pa.string()),
    ("line", pa.int64()),
])

CHAINS = pa.schema([
    ("link_id", pa.string()),
    ("subreddit", pa.string()),
    ("turn_ids", pa.list_(pa.string())),      # comment ids; a title turn has the "t3_" link id
    ("turn_authors", pa.list_(pa.string())),
    ("turn_texts", pa.list_(pa.string())),
    ("turn_scores", pa.list_(pa.int64())),
    ("turn_created", pa.list_(pa.int64())),
    ("over_18", pa.bool_()),                  # the submission's flag; null when RS data is absent
])

SHARDS = pa.schema(list(CHAINS) + [
    ("turn_weights", pa.list_(pa.float32())),  # DialoGPT's 1.0/0.0 per turn; turn 0 is context
])

SPLITS = ("train", "valid", "test")


def bare_id(thread_or_comment_id: str) -> str:
    """"t3_abc" -> "abc"; "abc" -> "abc"."""
    s = thread_or_comment_id
    return s[3:] if len(s) > 3 and s[2] == "_" and s[0] == "t" else s


def stable_hash(key: str, salt: bytes = b"") -> int:
    """A 32-bit hash that is the same on every machine, Python and library version."""
    return zlib.crc32(salt + key.encode("utf-8"))


def thread_bucket(thread_id: str, buckets: int) -> int:
    """Bucket of a thread, from its id with or without the "t3_" prefix."""
    return stable_hash(bare_id(thread_id)) % buckets


def _crc32_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC32 = _crc32_table()
_T, _UNDERSCORE = ord("t"), ord("_")


def thread_buckets(thread_ids: pa.Array | pa.ChunkedArray, buckets: int) -> np.ndarray:
    """`thread_bucket` of every id of a string column at once (int32), without a Python loop.

    The same CRC-32 as zlib (polynomial, init and final xor), computed byte position by byte
    position over all strings together: ids are short (<= ~10 bytes), so a block of a big month
    costs ~10 vectorised table lookups, where a crc32 call per distinct thread shows in profiles.
    """
    if isinstance(thread_ids, pa.ChunkedArray):
        thread_ids = thread_ids.combine_chunks()
    ids, n = thread_ids, len(thread_ids)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    if ids.null_count:
        raise ValueError("thread ids must not be null")
    if ids.type == pa.string():
        offset_type = np.int32
    elif ids.type == pa.large_string():
        offset_type = np.int64
    else:
        raise TypeError(f"thread ids must be strings, not {ids.type}")
    _, offsets_buf, data_buf = ids.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[ids.offset:ids.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    starts, ends = offsets[:-1].copy(), offsets[1:]
    # bare_id: "t3_abc" -> "abc" (any "tN_" prefix on a string longer than 3)
    lengths = ends - starts
    safe = np.minimum(starts, len(data) - 1)
    prefixed = (lengths > 3) & (data[safe] == _T) & (data[np.minimum(starts + 2, len(data) - 1)] == _UNDERSCORE)
    starts[prefixed] += 3
    lengths = ends - starts
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    for j in range(int(lengths.max())):
        active = np.flatnonzero(lengths > j)
        c = crc[active]
        byte = data[starts[active] + j].astype(np.uint32)
        crc[active] = _CRC32[(c ^ byte) & 0xFF] ^ (c >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    result = (crc % np.uint32(buckets)).astype(np.int32)
    # bare_id looks at characters: "t<multibyte>_x" strips, which bytes cannot see. Never a real
    # id (base36), but the contract is equality, so such rows take the reference function.
    odd = np.flatnonzero((lengths > 0) & (data[safe] == _T)
                         & (data[np.minimum(offsets[:-1] + 1, len(data) - 1)] >= 0x80))
    for i in odd.tolist():
        result[i] = thread_bucket(ids[i].as_py(), buckets)
    return result


def source_month(source: pl.Expr) -> pl.Expr:
    """The YYYY-MM in a `source` file name ("RC_2005-12.zst" -> "2005-12"), null when it has none.

    How the per-month rules (DialoGPT joins threads, and finds submissions, within one month) tell
    the month of a record; callers decide what a name without a month means.
    """
    return source.str.extract(r"(\d{4}-\d{2})", 1)


def split_of(link_id: str, fractions: tuple[float, float, float]) -> str:
    """train/valid/test of a thread, from a salted hash of its bare id (never straddles)."""
    u = stable_hash(bare_id(link_id), salt=b"split:") / 2**32
    train, valid, _ = fractions
    if u < train:
        return "train"
    if u < train + valid:
        return "valid"
    return "test"
