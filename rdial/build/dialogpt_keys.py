"""DialoGPT's released keys: which comments exist, which instances to keep, which turns weigh 0.

    rdial build corpus --preset dialogpt --dialogpt-keys keys-full/    # data/keys/YYYY-MM.gz
    rdial build corpus --preset dialogpt-test --dialogpt-keys keys-test.gz

What the keys mean (microsoft/DialoGPT reddit_extractor/src/reddit.py, run by its Makefile with
--keep_keys and --discard_tgt_keys):
  - a key file is gzipped text, one key a line: `<link_id>\\t t1_<id>\\t dep` or `... keep`
    (the line is compared after rstrip, so trailing spaces do not matter);
  - extract step: a comment is read only if its `dep` key is listed; the other comments do not
    exist for chain building (here: unusable, reason `no_dep_key`, before every other rule);
  - conv step: a comment ends an instance only if its `keep` key is listed (checked before the
    leaves-only skip: a listed comment with a reply is still no target with --leaves_only 1);
  - discard digests (`YYYY-MM-o.gz`, one hex SHA-224 a line): a turn whose normalised text
    (after norm_sentence, as written to the TSV without its weight) is listed gets weight 0.0
    (context turns too); applied by `rdial filter` (rdial.filter.discard_keys).
PATH is a folder laid out as keys-full.tar extracts (`data/keys/YYYY-MM.gz` and
`YYYY-MM-o.gz`, or that `keys/` folder itself), applied per source month (the month in the
input file's name), or one .gz file applied to every month (keys-test.gz; coverage is then
reported under the month "all").

Scale: the training keys hold ~147M keep keys and more dep keys (several GB gzipped), so they
never become a Python dict. Before the bucket tasks run, each month's key file is streamed
once (pyarrow's CSV reader, 32 MiB blocks) into an Arrow file partitioned like the corpus:
CORPUS/keys/dialogpt/keys/M.arrow holds one lz4 record batch per bucket, batch i = bucket i
(index_month: two passes through SPILL_PARTS spill files, so memory holds one block, then
1/32 of the month); each bucket task reads only its batch of each month and joins it with its
comments in polars. The index is reused while the key file's fingerprint is unchanged.
Index layout, all under CORPUS/keys/dialogpt/:
  manifest.json        source, mode, fingerprint, per month: lines read (keep, dep, bad)
  keys/M.arrow         Arrow IPC file, one batch per bucket: link_id, id (bare), keep (bool:
                       a keep line, else dep); M = YYYY-MM, or "all" for one file
  discard/M.parquet    column digest (hex SHA-224), unique
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rdial import schema
from rdial.errors import ConfigError, InputError
from rdial.ledger import combine_fingerprints, file_fingerprint
from rdial.publish import atomic_write_json

INDEX_FORMAT = 1
ALL = "all"                   # the month of a single key file applied to every month
NO_DEP_KEY = "no_dep_key"    # the unusable reason of a comment whose dep key is not listed
DIALOGPT_PRESETS = ("dialogpt", "dialogpt-test")  # the presets (or TOML bases) keys go with
KEY_SCHEMA = pa.schema([("bucket", pa.int32()), ("link_id", pa.string()), ("id", pa.string()),
                        ("keep", pa.bool_())])
BUCKET_SCHEMA = pa.schema(list(KEY_SCHEMA)[1:])  # keys/M.arrow: one batch per bucket
SPILL_PARTS = 32  # pass 1 splits a month by bucket range; pass 2 holds 1/32 of it in memory
BLOCK = 32 << 20             # bytes of decompressed key text per batch


def index_dir(corpus_root: Path) -> Path:
    return Path(corpus_root) / "keys" / "dialogpt"


# --- the key source: a keys-full.tar folder or one .gz ------------------------------------------
@dataclass(frozen=True)
class KeySource:
    path: Path
    flag: str = "--dialogpt-keys"

    @property
    def single(self) -> bool:
        return self.path.is_file()

    @property
    def folder(self) -> Path:
        nested = self.path / "data" / "keys"
        return nested if nested.is_dir() else self.path

    def check(self) -> None:
        if not self.path.exists():
            raise ConfigError(f"{self.flag}: no such file or folder: {self.path}")
        if self.single and not self.path.name.endswith(".gz"):
            raise ConfigError(f"{self.flag}: {self.path}: expected a gzipped key file (.gz) or a "
                              "folder of YYYY-MM.gz files (keys-full.tar extracted)")
        if not self.single and not any(self.folder.glob("????-??.gz")):
            raise ConfigError(f"{self.flag}: {self.path}: no YYYY-MM.gz key files in "
                              f"{self.folder} (expected keys-full.tar's data/keys/ layout)")

    def key_file(self, month: str) -> Path:
        if self.single:
            return self.path
        path = self.folder / f"{month}.gz"
        if not path.is_file():
            raise ConfigError(f"{self.flag}: no keys for month {month}: {path} is missing "
                              f"(DialoGPT's keys cover 2005-12..2017-11; build other months "
                              f"without --dialogpt-keys)")
        return path

    def digest_file(self, month: str) -> Path | None:
        if self.single:
            return None
        path = self.folder / f"{month}-o.gz"
        return path if path.is_file() else None

    def months_for(self, corpus_months: list[str]) -> list[str]:
        return [ALL] if self.single else sorted(corpus_months)

    def fingerprint(self, months: list[str]) -> str:
        parts = {"mode": "file" if self.single else "folder"}
        for m in months:
            parts[m] = file_fingerprint(self.key_file(m))
            d = self.digest_file(m)
            parts[m + "-o"] = file_fingerprint(d) if d else ""
        return combine_fingerprints(parts)


def corpus_months(corpus_root: Path) -> list[str]:
    """The YYYY-MM of every comment input of the corpus (from the file names under comments/)."""
    months = set()
    for path in (Path(corpus_root) / "comments").glob("bucket=*/*.parquet"):
        found = re.search(r"(\d{4}-\d{2})", path.name)
        if found:
            months.add(found.group(1))
    return sorted(months)


# --- reading key files -------------------------------------------------------------------------
@dataclass
class LineCounts:
    keep: int = 0
    dep: int = 0
    bad: int = 0
    bad_examples: list = field(default_factory=list)

    def bad_line(self, text: str) -> None:
        self.bad += 1
        if len(self.bad_examples) < 3:
            self.bad_examples.append(text[:200])


def key_batches(path: Path, buckets: int, counts: LineCounts):
    """Stream a key file as KEY_SCHEMA batches; malformed lines are counted in `counts`."""
    def invalid(row) -> str:
        counts.bad_line(row.text or "")
        return "skip"

    read = pacsv.ReadOptions(column_names=["link_id", "cid", "kind"], use_threads=False)
    parse = pacsv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False,
                               escape_char=False, invalid_row_handler=invalid)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in ("link_id", "cid", "kind")},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    for block in text_blocks(path):
        table = pacsv.read_csv(pa.py_buffer(block), read_options=read, parse_options=parse,
                               convert_options=convert)
        yield from _key_batches(table.combine_chunks(), buckets, counts)


def text_blocks(path: Path, size: int = BLOCK):
    """The decompressed text of a .gz file in blocks of whole lines, one block in memory.

    (pyarrow's streaming CSV reader on a compressed input held ~2/3 of a 420 MB file
    decompressed at once, read-ahead or not; plain gzip blocks keep memory flat.)"""
    with gzip.open(path, "rb") as fh:
        rest = b""
        while True:
            data = fh.read(size)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1:]
            yield data[:cut + 1]
        if rest.strip():
            yield rest


def _key_batches(table: pa.Table, buckets: int, counts: LineCounts):
    """One parsed block -> its valid keys as a KEY_SCHEMA batch (bad lines counted)."""
    if not table.num_rows:
        return
    link, cid = table["link_id"].chunk(0), table["cid"].chunk(0)
    kind = pc.utf8_rtrim_whitespace(table["kind"].chunk(0))
    good = pc.and_(pc.and_(pc.starts_with(cid, "t1_"), pc.is_in(kind, pa.array(["dep", "keep"]))),
                   pc.greater(pc.utf8_length(link), 0))
    n_bad = len(good) - (pc.sum(good).as_py() or 0)
    if n_bad:
        bad = table.filter(pc.invert(good))
        for i in range(min(n_bad, 3 - len(counts.bad_examples))):
            counts.bad_examples.append("\t".join(str(bad[c][i]) for c in ("link_id", "cid", "kind")))
        counts.bad += n_bad
        link, cid, kind = link.filter(good), cid.filter(good), kind.filter(good)
    if not len(link):
        return
    keep = pc.equal(kind, "keep")
    n_keep = pc.sum(keep).as_py() or 0
    counts.keep += n_keep
    counts.dep += len(link) - n_keep
    yield pa.record_batch([pa.array(schema.thread_buckets(link, buckets)), link,
                           pc.utf8_slice_codeunits(cid, 3), keep], schema=KEY_SCHEMA)


def digest_table(path: Path) -> tuple[pa.Table, int]:
    """(unique hex digests, malformed lines) of a `YYYY-MM-o.gz` file."""
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=["digest"],
                                                                 block_size=BLOCK),
                           parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False),
                           convert_options=pacsv.ConvertOptions(column_types={"digest": pa.string()}))
    digest = pc.utf8_rtrim_whitespace(table["digest"])
    frame = pl.from_arrow(pa.table({"digest": digest}))
    good = frame.filter(pl.col("digest").str.contains(r"^[0-9a-f]{56}$"))
    return good.unique().sort("digest").to_arrow(), frame.height - good.height


# --- the index -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyIndex:
    """What a bucket task needs (picklable): where the index is and how months are matched."""

    root: Path            # CORPUS/keys/dialogpt
    single: bool          # one file for every month: match on (link_id, id) only
    buckets: int
    fingerprint: str
    source: str

    def bucket_keys(self, bucket: int) -> pl.DataFrame:
        """month, link_id, id, dep, keep (one row per distinct key of this bucket)."""
        frames = []
        for path in sorted((self.root / "keys").glob("*.arrow")):
            with pa.ipc.open_file(pa.memory_map(str(path))) as reader:
                if bucket >= reader.num_record_batches:
                    raise InputError(f"{path}: {reader.num_record_batches} buckets, not the "
                                     f"corpus's; rerun `rdial build`")
                batch = reader.get_batch(bucket)
            if batch.num_rows:
                frames.append(pl.from_arrow(batch).with_columns(pl.lit(path.stem).alias("month")))
        if not frames:
            return pl.DataFrame(schema={"month": pl.String, "link_id": pl.String, "id": pl.String,
                                        "dep": pl.Boolean, "keep": pl.Boolean})
        keys = pl.concat(frames)
        return (keys.group_by("month", "link_id", "id")
                .agg((~pl.col("keep")).any().alias("dep"), pl.col("keep").any())
                .sort("month", "link_id", "id"))

    def discard_digests(self, month: str) -> pl.Series | None:
        path = self.root / "discard" / f"{month}.parquet"
        if not path.is_file():
            return None
        return pl.read_parquet(path)["digest"]


def prepare_index(corpus_root: Path, source: KeySource, buckets: int, months: list[str],
                  log=None) -> KeyIndex:
    """Index the key files of `months` (the corpus's), reusing months already indexed alike."""
    source.check()
    months = source.months_for(months)
    root = index_dir(corpus_root)
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if manifest.get("format") != INDEX_FORMAT or manifest.get("single") != source.single \
            or manifest.get("buckets") != buckets:
        shutil.rmtree(root, ignore_errors=True)
        manifest = {}
    done = manifest.get("months", {})
    (root / "keys").mkdir(parents=True, exist_ok=True)
    (root / "discard").mkdir(parents=True, exist_ok=True)
    result = {}
    for month in months:
        key_file, digest_file = source.key_file(month), source.digest_file(month)
        fp = combine_fingerprints({"keys": file_fingerprint(key_file),
                                   "digests": file_fingerprint(digest_file) if digest_file else ""})
        if done.get(month, {}).get("fingerprint") == fp:
            result[month] = done[month]
            continue
        if log:
            log(f"build: indexing DialoGPT keys of {month} ({key_file})")
        result[month] = index_month(root, month, key_file, digest_file, buckets)
        result[month]["fingerprint"] = fp
        # the manifest after each month: a killed run redoes only the months not recorded
        atomic_write_json(manifest_path, {"format": INDEX_FORMAT, "single": source.single,
                                          "buckets": buckets, "source": str(source.path),
                                          "months": {**done, **result}})
    for stale in (root / "keys").glob("*.arrow"):  # months no longer in the corpus
        if stale.stem not in result:
            stale.unlink()
    for stale in (root / "discard").glob("*.parquet"):
        if stale.stem not in result:
            stale.unlink()
    fingerprint = combine_fingerprints({m: r["fingerprint"] for m, r in result.items()})
    atomic_write_json(manifest_path, {"format": INDEX_FORMAT, "single": source.single,
                                      "buckets": buckets, "source": str(source.path),
                                      "fingerprint": fingerprint, "months": result})
    return KeyIndex(root=root, single=source.single, buckets=buckets, fingerprint=fingerprint,
                    source=str(source.path))


def index_month(root: Path, month: str, key_file: Path, digest_file: Path | None,
                buckets: int) -> dict:
    """Stream one month's key file into keys/M.arrow: batch i of that file = bucket i's keys.

    Two passes, bounded memory: (1) the file's blocks are split by bucket range into
    SPILL_PARTS Arrow stream files (each block written as it comes); (2) each spill file in turn
    (1/SPILL_PARTS of the month) is sorted by bucket and written as one lz4 batch per bucket.
    A bucket task then reads only its batch (the file's footer locates it).
    """
    counts = LineCounts()
    final = root / "keys" / f"{month}.arrow"
    spill = root / "keys" / f".spill-{month}"
    shutil.rmtree(spill, ignore_errors=True)
    spill.mkdir(parents=True)
    parts = min(SPILL_PARTS, buckets)
    per = -(-buckets // parts)
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    try:
        for batch in key_batches(key_file, buckets, counts):
            part = batch.column(0).to_numpy() // per
            order = np.argsort(part, kind="stable")
            batch = batch.take(pa.array(order))
            part = part[order]
            cuts = np.searchsorted(part, np.arange(parts + 1))
            for p in np.flatnonzero(np.diff(cuts)).tolist():
                if p not in writers:
                    writers[p] = pa.ipc.new_stream(spill / f"part-{p:03d}.arrows", KEY_SCHEMA)
                writers[p].write_batch(batch.slice(cuts[p], cuts[p + 1] - cuts[p]))
    except (OSError, pa.ArrowException, EOFError) as exc:
        for w in writers.values():
            w.close()
        shutil.rmtree(spill, ignore_errors=True)
        raise InputError(f"--dialogpt-keys: {key_file}: cannot read key file: {exc}") from exc
    for w in writers.values():
        w.close()
    tmp = final.with_name(f".tmp-{final.name}")
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_file(tmp, BUCKET_SCHEMA, options=options) as out:
        for p in range(parts):
            path = spill / f"part-{p:03d}.arrows"
            table = pa.ipc.open_stream(pa.memory_map(str(path))).read_all() if path.exists() \
                else KEY_SCHEMA.empty_table()
            table = table.take(pc.sort_indices(table["bucket"])).combine_chunks()
            rows = pa.RecordBatch.from_arrays([table[c].combine_chunks() if table.num_rows else
                                               pa.array([], t) for c, t in
                                               zip(BUCKET_SCHEMA.names, BUCKET_SCHEMA.types)],
                                              schema=BUCKET_SCHEMA)
            bucket = table["bucket"].to_numpy()
            first, last = p * per, min((p + 1) * per, buckets)
            cuts = np.searchsorted(bucket, np.arange(first, last + 1))
            for i in range(last - first):
                out.write_batch(rows.slice(cuts[i], cuts[i + 1] - cuts[i]))
            del table, rows
            if path.exists():
                path.unlink()
    tmp.replace(final)
    shutil.rmtree(spill, ignore_errors=True)
    out = {"keys_file": str(key_file), "keep_lines": counts.keep, "dep_lines": counts.dep,
           "bad_lines": counts.bad, "bad_examples": counts.bad_examples, "digests": None}
    target = root / "discard" / f"{month}.parquet"
    if digest_file is not None:
        try:
            table, bad = digest_table(digest_file)
        except (OSError, pa.ArrowException, EOFError) as exc:
            raise InputError(f"--dialogpt-keys: {digest_file}: cannot read digest file: {exc}") from exc
        tmp_file = target.with_name(f".tmp-{target.name}")
        pq.write_table(table, tmp_file, compression="zstd")
        tmp_file.replace(target)
        out.update(digests_file=str(digest_file), digests=table.num_rows, digest_bad_lines=bad)
    elif target.exists():
        target.unlink()
    return out


def open_index(corpus_root: Path) -> dict | None:
    """The manifest of the corpus's key index, or None when the build used no keys."""
    path = index_dir(corpus_root) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def drop_index(corpus_root: Path) -> None:
    """A build without keys: the index of an earlier build with keys no longer applies."""
    shutil.rmtree(index_dir(corpus_root), ignore_errors=True)


# --- per bucket: the join with the comments ------------------------------------------------------
@dataclass
class KeyMatch:
    dep: pl.Series        # per node: its dep key is listed
    keep: pl.Series       # per node: its keep key is listed
    stats: dict           # month -> {keep_listed, keep_found, dep_listed, dep_found}


def node_months(nodes: pl.DataFrame, single: bool) -> pl.Expr:
    if single:
        return pl.lit(ALL).alias("month")
    return schema.source_month(pl.col("source")).fill_null("").alias("month")


def match_keys(nodes: pl.DataFrame, keys: pl.DataFrame, single: bool) -> KeyMatch:
    """Which nodes are dep/keep listed, and how many listed keys have a comment (per month).

    `nodes`: the bucket's deduplicated comments (id, link_id, source); `keys`: bucket_keys().
    """
    ids = nodes.select(node_months(nodes, single), "link_id", "id")
    on = ["month", "link_id", "id"]
    joined = ids.join(keys, on=on, how="left", maintain_order="left")
    found = keys.join(ids.unique(), on=on, how="semi")
    per_month = (keys.group_by("month").agg(pl.col("keep").sum().alias("keep_listed"),
                                            pl.col("dep").sum().alias("dep_listed"))
                 .join(found.group_by("month").agg(pl.col("keep").sum().alias("keep_found"),
                                                   pl.col("dep").sum().alias("dep_found")),
                       on="month", how="left").fill_null(0).sort("month"))
    stats = {row.pop("month"): {k: int(v) for k, v in row.items()}
             for row in per_month.iter_rows(named=True)}
    return KeyMatch(dep=joined["dep"].fill_null(False), keep=joined["keep"].fill_null(False),
                    stats=stats)


def orphan_counts(index: KeyIndex, buckets_with_comments: set[int]) -> dict:
    """Listed keys in buckets holding no comment at all (no bucket task counted them)."""
    out: dict = {}
    for bucket in sorted(set(range(index.buckets)) - buckets_with_comments):
        keys = index.bucket_keys(bucket)
        for row in (keys.group_by("month").agg(pl.col("keep").sum(), pl.col("dep").sum())
                    .iter_rows(named=True)):
            month = out.setdefault(row["month"], {"keep": 0, "dep": 0})
            month["keep"] += int(row["keep"])
            month["dep"] += int(row["dep"])
    return out


def coverage(index: KeyIndex, bucket_totals: dict, buckets_with_comments: set[int]) -> dict:
    """Per month: keep_keys listed, keep_absent (no comment in the dumps), dep_keys, dep_absent."""
    manifest = open_index(index.root.parent.parent) or {}
    orphans = orphan_counts(index, buckets_with_comments)
    months = {}
    for month, info in sorted(manifest.get("months", {}).items()):
        t = bucket_totals.get(month, {})
        o = orphans.get(month, {"keep": 0, "dep": 0})
        keep = t.get("keep_listed", 0) + o["keep"]
        dep = t.get("dep_listed", 0) + o["dep"]
        months[month] = {"keep_keys": keep, "keep_absent": keep - t.get("keep_found", 0),
                         "dep_keys": dep, "dep_absent": dep - t.get("dep_found", 0),
                         "bad_lines": info.get("bad_lines", 0),
                         "discard_digests": info.get("digests")}
    return {"source": index.source, "mode": "file" if index.single else "folder",
            "fingerprint": index.fingerprint, "months": months}
