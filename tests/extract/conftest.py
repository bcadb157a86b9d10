"""Helpers for the extract tests: tiny dumps written in any format, and the tables read back."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
import zstandard


def comment(cid: str, link: str, parent: str | None = None, body: str = "hello there", **extra) -> bytes:
    """One 2005-style RC line."""
    record = {"id": cid, "link_id": link, "parent_id": parent or link, "body": body,
              "author": "someone", "subreddit": "reddit.com", "created_utc": 1134365188,
              "score": 2, "stickied": False, "distinguished": None, "retrieved_on": 1473738411}
    record.update(extra)
    return orjson.dumps({k: v for k, v in record.items() if v is not ...})


def submission(sid: str, title: str = "a title", **extra) -> bytes:
    record = {"id": sid, "title": title, "selftext": "", "subreddit": "reddit.com",
              "author": "op", "over_18": False, "score": 5, "num_comments": 1,
              "created_utc": 1134365000, "domain": "self.reddit.com", "url": "http://x"}
    record.update(extra)
    return orjson.dumps({k: v for k, v in record.items() if v is not ...})


def many_comments(n: int, threads: int = 50, start: int = 0) -> list[bytes]:
    return [comment(f"c{i:x}", f"t3_{1000 + i % threads:x}", body=f"comment number {i}")
            for i in range(start, start + n)]


def zst_long(data: bytes) -> bytes:
    """A zstd frame that declares a 2 GiB window and has a content checksum, like Pushshift's
    --long=31 dumps."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_checksum=True)
    cctx = zstandard.ZstdCompressor(compression_params=params)
    chunks = []
    writer = cctx.stream_writer(_Sink(chunks), closefd=False)
    writer.write(data)
    writer.flush(zstandard.FLUSH_FRAME)
    return b"".join(chunks)


class _Sink:
    def __init__(self, chunks):
        self.chunks = chunks

    def write(self, b):
        self.chunks.append(bytes(b))
        return len(b)


COMPRESS = {
    "zst": zst_long,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "gz": gzip.compress,
    "json": lambda b: b,
}


def write_dump(path: Path, lines: list[bytes], trailing_newline: bool = True) -> Path:
    """Write `lines` compressed by the file's extension (zst, bz2, xz, gz, json/ndjson)."""
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    ext = path.suffix.lstrip(".")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(COMPRESS.get(ext, COMPRESS["json"])(data))
    return path


def read_table(corpus: Path, table: str = "comments") -> pa.Table:
    """Every published bucket file of `table`, sorted by (source, line)."""
    files = sorted(p for p in (corpus / table).glob("bucket=*/*.parquet"))
    if not files:
        return pa.table({})
    tab = ds.dataset([str(f) for f in files], format="parquet").to_table()
    return tab.sort_by([("source", "ascending"), ("line", "ascending")])


def published_files(corpus: Path) -> dict[str, bytes]:
    """Relative path -> content for every table, quarantine and stats file (not timing)."""
    out = {}
    for p in sorted(corpus.rglob("*")):
        rel = str(p.relative_to(corpus))
        if p.is_file() and not rel.startswith(("_ledger", "stats", "config", "corpus.json")):
            out[rel] = p.read_bytes()
    return out


@pytest.fixture
def dumps(tmp_path) -> Path:
    d = tmp_path / "dumps"
    d.mkdir()
    return d


class Helpers:
    """What the tests use, as one fixture (tests cannot import conftest in importlib mode)."""

    comment = staticmethod(comment)
    submission = staticmethod(submission)
    many_comments = staticmethod(many_comments)
    zst_long = staticmethod(zst_long)
    write_dump = staticmethod(write_dump)
    read_table = staticmethod(read_table)
    published_files = staticmethod(published_files)


@pytest.fixture(scope="session")
def rx() -> Helpers:
    return Helpers()
