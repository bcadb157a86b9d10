"""Read one bucket of the extract stage's tables into memory, checked against the contract.

    python -c "from rdial.build.inputs import *; from rdial.corpus import Corpus; \
print(read_bucket(*bucket_inputs(Corpus.open('corpus'), 17)))"

A bucket holds every month of its threads: `comments/bucket=NNNNN/<input>.parquet` (and the same
under `submissions/`), one file per input dump. All of a bucket's files are read and
concatenated; a file that is unreadable, or lacks a column of schema.COMMENTS/SUBMISSIONS, fails
the bucket with a message naming the file and the column (other buckets go on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import InputError


@dataclass
class BucketInputs:
    comments: pl.DataFrame            # schema.COMMENTS columns, records as read (duplicates kept)
    submissions: pl.DataFrame | None  # schema.SUBMISSIONS columns; None when no RS data
    files: list[Path]                 # every file read, comments first


def read_table(path: Path, contract: pa.Schema) -> pa.Table:
    """One Parquet file, cast to `contract`. ParquetFile (not read_table) so that the
    `bucket=NNNNN` directory is not turned into a hive partition column."""
    try:
        table = pq.ParquetFile(path).read(columns=None)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read Parquet file: {exc}") from exc
    missing = [name for name in contract.names if name not in table.column_names]
    if missing:
        raise InputError(f"{path}: column {missing[0]!r} missing (expected the {contract.names} "
                         f"of rdial.schema; rerun `rdial extract` for this input)")
    table = table.select(contract.names)
    try:
        return table.cast(contract)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = next((f.name for f in contract if table.schema.field(f.name).type != f.type), "?")
        raise InputError(f"{path}: column {bad!r} has type {table.schema.field(bad).type}, "
                         f"expected {contract.field(bad).type}: {exc}") from exc


def read_files(paths: list[Path], contract: pa.Schema) -> pl.DataFrame:
    tables = [read_table(p, contract) for p in paths]
    table = pa.concat_tables(tables) if tables else contract.empty_table()
    return pl.from_arrow(table, rechunk=True)  # type: ignore[return-value]


def bucket_inputs(corpus: Corpus, bucket: int) -> tuple[list[Path], list[Path]]:
    """(comment files, submission files) of a bucket, as published now, sorted."""
    return corpus.bucket_files("comments", bucket), corpus.bucket_files("submissions", bucket)


def read_bucket(comment_files: list[Path], submission_files: list[Path]) -> BucketInputs:
    """Read exactly these files (the ones the ledger fingerprinted when the task was planned)."""
    comments = read_files(comment_files, schema.COMMENTS)
    submissions = read_files(submission_files, schema.SUBMISSIONS) if submission_files else None
    return BucketInputs(comments=comments, submissions=submissions,
                        files=comment_files + submission_files)
