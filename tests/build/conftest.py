"""Fixtures for the build tests: inline Reddit records written as an extracted corpus.

`reddit.comment("b", "t1_a", "hello")` makes a COMMENTS row; `reddit.corpus({"RC_2005-12.zst":
[rows]}, submissions={...})` writes them where `rdial extract` would (one Parquet file per input
and bucket) and returns the Corpus; `reddit.chains(corpus)` reads every chains file back.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rdial import schema
from rdial.corpus import Corpus


class RedditFactory:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self._clock = 1_134_000_000

    def comment(self, id: str, parent: str, body: str | None = None, *, link: str = "t3_s",
                author: str | None = None, created: int | None = None, score: int | None = 1,
                retrieved: int | None = 1_400_000_000, subreddit: str = "test") -> dict:
        self._clock += 10
        return {"id": id, "link_id": link, "parent_id": parent, "author": author or f"u_{id}",
                "body": f"text {id}" if body is None else body, "subreddit": subreddit,
                "created_utc": self._clock if created is None else created, "score": score,
                "distinguished": None, "stickied": False, "retrieved_on": retrieved}

    def submission(self, id: str, title: str, *, over_18: bool | None = False,
                   author: str = "op", created: int = 1_133_999_000, score: int = 7) -> dict:
        return {"id": id, "subreddit": "test", "author": author, "title": title, "selftext": "",
                "over_18": over_18, "score": score, "num_comments": 0, "created_utc": created,
                "domain": None, "url": None, "retrieved_on": 1_400_000_000}

    def corpus(self, comments: dict[str, list[dict]], submissions: dict[str, list[dict]] | None = None,
               *, buckets: int | None = None, root: Path | None = None) -> Corpus:
        """Create the corpus (4 buckets unless told), or add files to an existing one."""
        root = root or self.tmp_path / "corpus"
        corpus = Corpus.open(root) if (root / "corpus.json").exists() else \
            Corpus.open_or_create(root, buckets=buckets or 4)
        for source, rows in comments.items():
            write_bucketed(corpus, "comments", source, rows, schema.COMMENTS, "link_id")
        for source, rows in (submissions or {}).items():
            write_bucketed(corpus, "submissions", source, rows, schema.SUBMISSIONS, "id")
        return corpus

    @staticmethod
    def chains(corpus: Corpus) -> list[dict]:
        rows = []
        for path in sorted(corpus.chains_dir.glob("bucket=*.parquet")):
            rows += pq.read_table(path).to_pylist()
        return rows

    def ids(self, corpus: Corpus) -> list[list[str]]:
        return [row["turn_ids"] for row in self.chains(corpus)]


def write_bucketed(corpus: Corpus, table: str, source: str, rows: list[dict], contract: pa.Schema,
                   thread_key: str) -> None:
    """Write rows as `rdial extract` does: TABLE/bucket=NNNNN/<source stem>.parquet."""
    rows = [dict(r, source=source, line=r.get("line", i + 1)) for i, r in enumerate(rows)]
    by_bucket: dict[int, list[dict]] = {}
    for row in rows:
        by_bucket.setdefault(schema.thread_bucket(row[thread_key], corpus.buckets), []).append(row)
    for bucket, part in by_bucket.items():
        path = corpus.bucket_dir(table, bucket) / (source.split(".")[0] + ".parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=contract), path, compression="zstd")


@pytest.fixture
def reddit(tmp_path) -> RedditFactory:
    return RedditFactory(tmp_path)


# --- real data: the raw dumps converted to the COMMENTS contract ------------------------------

def _int(value):
    return None if value is None or value == "" else int(float(value))


def _prefixed(value: str | None, prefix: str) -> str | None:
    if value is None:
        return None
    return value if value.startswith(("t1_", "t3_")) else prefix + value


def read_dump_lines(path: Path):
    """Lines of a .zst (2 GiB window) or plain ndjson dump."""
    if path.suffix == ".zst":
        import zstandard
        with open(path, "rb") as fh:
            reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh)
            yield from io.TextIOWrapper(reader, encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            yield from fh


def comment_rows(path: Path) -> list[dict]:
    rows = []
    for line_no, line in enumerate(read_dump_lines(path), start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        rows.append({"id": obj["id"].removeprefix("t1_"), "link_id": _prefixed(obj["link_id"], "t3_"),
                     "parent_id": obj["parent_id"], "author": obj.get("author"),
                     "body": obj.get("body"), "subreddit": obj.get("subreddit"),
                     "created_utc": _int(obj.get("created_utc")), "score": _int(obj.get("score")),
                     "distinguished": obj.get("distinguished"), "stickied": obj.get("stickied"),
                     "retrieved_on": _int(obj.get("retrieved_on")), "source": path.name,
                     "line": line_no})
    return rows


def submission_rows(path: Path) -> list[dict]:
    rows = []
    for line_no, line in enumerate(read_dump_lines(path), start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        rows.append({"id": obj["id"].removeprefix("t3_"), "subreddit": obj.get("subreddit"),
                     "author": obj.get("author"), "title": obj.get("title"),
                     "selftext": obj.get("selftext"), "over_18": obj.get("over_18"),
                     "score": _int(obj.get("score")), "num_comments": _int(obj.get("num_comments")),
                     "created_utc": _int(obj.get("created_utc")), "domain": obj.get("domain"),
                     "url": obj.get("url"), "retrieved_on": _int(obj.get("retrieved_on")),
                     "source": path.name, "line": line_no})
    return rows


@pytest.fixture
def real_corpus(tmp_path):
    """Factory: write real dump files (RC_/RS_ paths) into a fresh corpus, like extract would."""
    def make(comment_paths: list[Path], submission_paths: list[Path] = (), *, buckets: int = 8,
             name: str = "real") -> Corpus:
        corpus = Corpus.open_or_create(tmp_path / name, buckets=buckets)
        for p in comment_paths:
            write_bucketed(corpus, "comments", p.name, comment_rows(p), schema.COMMENTS, "link_id")
        for p in submission_paths:
            write_bucketed(corpus, "submissions", p.name, submission_rows(p), schema.SUBMISSIONS, "id")
        return corpus
    return make


@pytest.fixture(name="comment_rows")
def comment_rows_fixture():
    """The raw-dump reader above, for tests that check chains against the records."""
    return comment_rows
