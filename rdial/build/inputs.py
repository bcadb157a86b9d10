"""Read one bucket of the extract stage's tables into memory, checked against the contract.

    python -c "from rdial.build.inputs import *; from rdial.corpus import Corpus; \
print(read_bucket(*bucket_inputs(Corpus.open('corpus'), 17)))"

A bucket holds every month of its threads: `comments/bucket=NNNNN/<input>.parquet` (and the same
under `submissions/`), one file per input dump. All of a bucket's files are read and
concatenated; a file that is unreadable, or lacks a column of schema.COMMENTS/SUBMISSIONS, fails
the bucket with a message naming the file and the column (other buckets go on).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import InputError


@dataclass
class BucketInputs:
    comments: pl.DataFrame            # schema.COMMENTS columns, records as read (duplicates kept)
    submissions: pl.DataFrame | None  # schema.SUBMISSIONS columns; None when no RS data
    files: list[Path]                 # every file read, comments first


@functools.lru_cache(maxsize=None)
def polars_schema(contract: pa.Schema) -> pl.Schema:
    return pl.DataFrame(contract.empty_table()).schema


def read_frame(path: Path, contract: pa.Schema, where: pl.Expr | None = None) -> pl.DataFrame:
    """One Parquet file as a DataFrame with exactly the `contract` columns and types.

    polars reads it (about 3x faster than pyarrow + conversion here); no hive partitioning, so
    the `bucket=NNNNN` directory does not become a column, and no globbing of the name.
    `where`: only the rows it selects (it may name only contract columns).
    """
    try:
        if where is None:
            frame = pl.read_parquet(path, hive_partitioning=False, glob=False)
        else:  # the rows of some threads (incremental.py): filtered as the file is decoded
            frame = pl.scan_parquet(path, hive_partitioning=False, glob=False).filter(where).collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: cannot read Parquet file: {exc}") from exc
    missing = [name for name in contract.names if name not in frame.columns]
    if missing:
        raise InputError(f"{path}: column {missing[0]!r} missing (expected the {contract.names} "
                         f"of rdial.schema; rerun `rdial extract` for this input)")
    wanted = polars_schema(contract)
    for name, dtype in wanted.items():
        if frame.schema[name] != dtype:
            try:
                frame = frame.with_columns(pl.col(name).cast(dtype, strict=True))
            except pl.exceptions.PolarsError as exc:
                raise InputError(f"{path}: column {name!r} has type {frame.schema[name]}, "
                                 f"expected {dtype}: {exc}") from exc
    return frame.select(wanted.names())


def read_files(paths: list[Path], contract: pa.Schema) -> pl.DataFrame:
    frames = [read_frame(p, contract) for p in paths]
    if not frames:
        return pl.DataFrame(schema=polars_schema(contract))
    return pl.concat(frames, rechunk=False)  # rows are gathered (and so rechunked) later


def bucket_inputs(corpus: Corpus, bucket: int) -> tuple[list[Path], list[Path]]:
    """(comment files, submission files) of a bucket, as published now, sorted."""
    return corpus.bucket_files("comments", bucket), corpus.bucket_files("submissions", bucket)


def read_bucket(comment_files: list[Path], submission_files: list[Path]) -> BucketInputs:
    """Read exactly these files (the ones the ledger fingerprinted when the task was planned)."""
    comments = read_files(comment_files, schema.COMMENTS)
    submissions = read_files(submission_files, schema.SUBMISSIONS) if submission_files else None
    return BucketInputs(comments=comments, submissions=submissions,
                        files=comment_files + submission_files)
