"""Multi-reference test sets from a corpus: `rdial export --format multiref`.

    rdial export corpus --format multiref --split test --min-refs 2 --out refs.tsv
    rdial export corpus --format multiref --dialogpt-ids test-multi-refs-ids.txt --out refs.tsv

One line per context: `context<TAB>ref1<TAB>ref2...`, the context's turns joined by " EOS " as
in DialoGPT's TSV (without weights when the corpus was filtered with tsv_weights = false, as
DialoGPT's test recipe writes them). `--scored` writes each reference as `score|ref`, as
DialoGPT's test.scored_refs.txt (its Makefile's `sed 's/[0-9]\\+|//g'` makes test.refs.txt).

From the corpus's own chains (--split): contexts of that split with several distinct responses
(sibling replies to the same context path: the same thread and the same turn ids before the
target). References: by Reddit score (highest first), then time, then id; a response text
already taken is skipped; at most --max-refs (0: all); contexts with fewer than --min-refs are
left out. Lines ordered by (link_id, context turn ids): the same corpus gives the same file.

With --dialogpt-ids: what DialoGPT's reddit_extractor/src/create-multiref.py does with the
test conv output: every instance is keyed `link_id,t1_<parent id>,t1_<id>` (its TSV header);
each `multiref<TAB>score,ids<TAB>score,ids...` line of the ids file gives one output line in
file order: the first reference's instance gives the context (no line when it is missing), the
others are added when found and their context is the same (curly quotes made straight first,
as that script does). Ids not found (every occurrence, also in dropped lines) are counted, and
listed with --missing FILE. Build the
corpus with `--preset dialogpt-test --dialogpt-keys keys-test.gz` and filter it with
`--split-fractions 0 0 1` (or read every split: the default without --split).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import InputError, RdialError
from rdial.filter.export import shard_files, tsv_lines, tsv_weights


@dataclass
class MultirefReport:
    lines: int = 0
    refs: int = 0
    ids_lines: int = 0
    missing: list = field(default_factory=list)   # ref ids not found in the corpus
    missing_first: int = 0                        # ids lines dropped: their first ref is missing
    source_mismatch: int = 0

    def summary(self) -> str:
        text = f"export: {self.lines} contexts, {self.refs} references"
        if self.ids_lines:
            text += (f" from {self.ids_lines} id lines; {len(self.missing)} ref ids not found "
                     f"({self.missing_first} lines without their first ref), "
                     f"{self.source_mismatch} refs with another context")
        return text


def read_instances(corpus: Corpus, splits: list[str]) -> pl.DataFrame:
    """One row per kept chain: link_id, turn_ids, turn_scores, turn_created, src, tgt."""
    weights = tsv_weights(corpus)
    frames = []
    for path in shard_files(corpus, splits):
        shard = pl.read_parquet(path)
        if shard.is_empty():
            continue
        lines = tsv_lines(shard, weights).str.split_exact("\t", 1)
        frames.append(shard.select("link_id", "turn_ids", "turn_scores", "turn_created")
                      .with_columns(lines.struct.field("field_0").alias("src"),
                                    lines.struct.field("field_1").alias("tgt")))
    if not frames:
        return pl.DataFrame(schema={"link_id": pl.String, "turn_ids": pl.List(pl.String),
                                    "turn_scores": pl.List(pl.Int64),
                                    "turn_created": pl.List(pl.Int64), "src": pl.String,
                                    "tgt": pl.String})
    return pl.concat(frames)


def sibling_multiref(corpus: Corpus, split: str, min_refs: int, max_refs: int,
                     scored: bool) -> tuple[list[str], MultirefReport]:
    df = read_instances(corpus, [split]).filter(pl.col("turn_ids").list.len() >= 2)
    df = df.with_columns(pl.col("turn_ids").list.head(pl.col("turn_ids").list.len() - 1)
                         .list.join(",").alias("_context"),
                         pl.col("turn_scores").list.last().fill_null(0).alias("_score"),
                         pl.col("turn_created").list.last().alias("_created"),
                         pl.col("turn_ids").list.last().alias("_id"))
    df = (df.sort(["link_id", "_context", "_score", "_created", "_id"],
                  descending=[False, False, True, False, False])
          .unique(["link_id", "_context", "tgt"], keep="first", maintain_order=True))
    groups = df.group_by("link_id", "_context", maintain_order=True).agg(
        pl.col("src").first(), pl.col("tgt"), pl.col("_score"))
    groups = groups.filter(pl.col("tgt").list.len() >= min_refs)
    report, out = MultirefReport(), []
    for src, refs, scores in groups.select("src", "tgt", "_score").iter_rows():
        if max_refs:
            refs, scores = refs[:max_refs], scores[:max_refs]
        cells = [f"{s}|{r}" for s, r in zip(scores, refs)] if scored else refs
        out.append("\t".join([src, *cells]))
        report.refs += len(refs)
    report.lines = len(out)
    return out, report


def read_ids(path: Path) -> list[tuple[int, list[tuple[str, str]]]]:
    """(line number, [(score, "link_id,t1_parent,t1_id"), ...]) per `multiref` line."""
    rows = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--dialogpt-ids: cannot read {path}: {exc.strerror}") from exc
    for n, line in enumerate(text.splitlines(), start=1):
        els = line.rstrip().split("\t")
        if els[0] != "multiref":
            print(f"rdial export: {path}:{n}: not a multiref line, ignored", file=sys.stderr)
            continue
        refs = []
        for el in els[1:]:
            score, sep, ids = el.partition(",")
            if not sep:
                raise InputError(f"--dialogpt-ids: {path}:{n}: {el!r} is not 'score,ids'")
            refs.append((score, ids))
        if refs:
            rows.append((n, refs))
    return rows


def straight_quotes(s: pl.Expr) -> pl.Expr:
    return s.str.replace_all("“", '"', literal=True).str.replace_all("”", '"', literal=True)


def dialogpt_multiref(corpus: Corpus, ids_path: Path, split: str | None,
                      max_refs: int, scored: bool) -> tuple[list[str], MultirefReport]:
    df = read_instances(corpus, [split] if split else list(schema.SPLITS))
    df = df.filter(pl.col("turn_ids").list.len() >= 2).select(
        pl.concat_str([pl.col("link_id"), pl.lit(",t1_"), pl.col("turn_ids").list.get(-2),
                       pl.lit(",t1_"), pl.col("turn_ids").list.get(-1)]).alias("key"),
        straight_quotes(pl.col("src")).alias("src"), straight_quotes(pl.col("tgt")).alias("tgt"))
    # create-multiref.py keeps the last instance of a key (a dict); ids are unique in practice
    data = {k: (s, t) for k, s, t in df.iter_rows()}
    report, out = MultirefReport(), []
    for _, refs in read_ids(ids_path):
        report.ids_lines += 1
        score1, ids1 = refs[0]
        if ids1 not in data:  # the line is dropped; its other missing ids are still reported
            report.missing += [ids for _, ids in refs if ids not in data]
            report.missing_first += 1
            continue
        src, r1 = data[ids1]
        cells = [(score1, r1)]
        for score, ids in refs[1:]:
            if ids not in data:
                report.missing.append(ids)
            elif data[ids][0] != src:
                report.source_mismatch += 1
            else:
                cells.append((score, data[ids][1]))
        if max_refs:
            cells = cells[:max_refs]
        out.append("\t".join([src, *(f"{s}|{r}" if scored else r for s, r in cells)]))
        report.refs += len(cells)
    report.lines = len(out)
    return out, report


def export_multiref(corpus_root: Path, *, out: BinaryIO, split: str | None = None,
                    dialogpt_ids: Path | None = None, min_refs: int = 2, max_refs: int = 0,
                    scored: bool = False, missing_out: Path | None = None) -> MultirefReport:
    if min_refs < 1:
        raise RdialError("--min-refs: must be at least 1")
    if max_refs < 0:
        raise RdialError("--max-refs: must be 0 (all) or more")
    corpus = Corpus.open(Path(corpus_root))
    if dialogpt_ids is not None:
        lines, report = dialogpt_multiref(corpus, Path(dialogpt_ids), split, max_refs, scored)
    else:
        if split is None:
            raise RdialError("--format multiref: give --split (test, usually) or --dialogpt-ids")
        lines, report = sibling_multiref(corpus, split, min_refs, max_refs, scored)
    out.write("".join(line + "\n" for line in lines).encode("utf-8"))
    if missing_out is not None:
        Path(missing_out).write_text("".join(i + "\n" for i in report.missing), encoding="utf-8")
    return report
