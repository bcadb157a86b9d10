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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def thread_buckets(thread_ids: pa.Array | pa.ChunkedArray, buckets: int) -> np.ndarray:
    """Vectorised `thread_bucket` for a column: hashes each distinct id once.

    A dump chunk has far fewer distinct threads than lines, so this costs one dictionary encode
    plus a Python crc32 per distinct thread.
    """
    if isinstance(thread_ids, pa.ChunkedArray):
        thread_ids = thread_ids.combine_chunks()
    if len(thread_ids) == 0:
        return np.zeros(0, dtype=np.int32)
    encoded = pc.dictionary_encode(thread_ids)
    dictionary = encoded.dictionary.to_pylist()
    per_value = np.fromiter((thread_bucket(v, buckets) for v in dictionary), dtype=np.int32,
                            count=len(dictionary))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return per_value[indices]


def split_of(link_id: str, fractions: tuple[float, float, float]) -> str:
    """train/valid/test of a thread, from a salted hash of its bare id (never straddles)."""
    u = stable_hash(bare_id(link_id), salt=b"split:") / 2**32
    train, valid, _ = fractions
    if u < train:
        return "train"
    if u < train + valid:
        return "valid"
    return "test"
