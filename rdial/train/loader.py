"""Streams the Parquet shards into micro-batches: sharded across lanes, shuffled, resumable.

    python -c "
    from pathlib import Path; from rdial.train.loader import *; from rdial.train.tokenizer import load_tokenizer
    from rdial.train.token_cache import ensure_cache
    units = shard_units(split_files(Path('corpus/shards'), 'train'))
    tokens = ensure_cache(Path('corpus/shards'), load_tokenizer()).split_dir('train')
    loader = DialogueLoader(ShardStream(units, lane=0, lanes=1, seed=0), None,
                            batch_tokens=8192, max_seq_len=256, tokens=tokens)
    batch, position = next(iter(loader)); print(batch.input_ids.shape, position)"

Lanes. The training stream is split into `lanes` = data-parallel ranks x gradient-accumulation
steps; an optimizer step takes one micro-batch from every lane. Rank r owns lanes
r*accum .. r*accum+accum-1, so 2 ranks x 1 step and 1 rank x 2 steps see the same global
batches. A lane takes a contiguous slice (1/lanes, rotating) of every row group: no overlap, no
gap, balanced to a row. A lane reads only its slice's token ids from the token cache
(rdial/train/token_cache.py: the shards tokenised once, memory-mapped); without a cache
(`tokens=""`, the reference path of the tests and the bench) it reads every row group's two
text columns and tokenizes its slice.

Order. Each epoch shuffles the row groups (seed, epoch); consecutive row groups form windows of
about `shuffle_rows` dialogues per lane; a window is shuffled, bucketed by length and its
batches shuffled (seed, epoch, lane, window). Lanes are endless: epoch e+1 follows epoch e, and
the trainer stops at --max-steps.

Workers. A window is built (read from the cache, encoded, bucketed, collated) in a background thread
per lane, or with --loader-workers N by a pool of N spawned processes per rank, several windows
at once, each by one worker, taken back in window order: the stream does not depend on N.

Position. (epoch, window, batch) names the next micro-batch of a lane. A window is a pure function
of (seed, epoch, lane, window), so resuming re-reads that window and skips `batch` batches: the
resumed run sees exactly the examples an uninterrupted run would have seen.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.errors import RdialError
from rdial.train.batching import Batch, bucket_batches, collate, pack_batches, window_batches
from rdial.train.dialogue import encode_block, encode_dialogue, encode_reverse_dialogue
from rdial.train.token_cache import open_split

COLUMNS = ("turn_texts", "turn_weights")


@dataclass(frozen=True)
class ShardUnit:
    """One row group of one shard file: the unit of shuffling."""
    path: Path
    row_group: int
    rows: int


@dataclass(frozen=True)
class LanePosition:
    epoch: int = 0
    window: int = 0
    batch: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def split_files(shards_dir: Path, split: str, *, required: bool = True) -> list[Path]:
    """Published `SHARDS/<split>/part-*.parquet`, sorted; RdialError when required and absent."""
    directory = Path(shards_dir) / split
    files = sorted(directory.glob("part-*.parquet")) if directory.is_dir() else []
    if required and not directory.is_dir():
        raise RdialError(f"--shards: {directory} does not exist; expected SHARDS/{split}/part-*.parquet "
                         f"as written by `rdial filter`")
    if required and not files:
        raise RdialError(f"--shards: {directory} holds no part-*.parquet shard")
    return files


def shard_units(files: list[Path], *, required: bool = True) -> list[ShardUnit]:
    """Row groups of `files` after checking each file's schema; RdialError on a bad file."""
    units = []
    for path in files:
        parquet = _open(path)
        check_schema(path, parquet.schema_arrow)
        for i in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(i).num_rows
            if rows:
                units.append(ShardUnit(path=path, row_group=i, rows=rows))
    if required and files and not units:
        raise RdialError(f"--shards: {files[0].parent} holds no dialogues (every shard is empty)")
    return units


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise RdialError(f"{path}: not a readable Parquet file ({exc})") from exc


def check_schema(path: Path, schema: pa.Schema) -> None:
    """The SHARDS columns training reads: turn_texts list<string>, turn_weights list<float>."""
    expect = {"turn_texts": pa.types.is_string, "turn_weights": pa.types.is_floating}
    for name, is_value in expect.items():
        if name not in schema.names:
            raise RdialError(f"{path}: column {name} missing; a shard must follow the SHARDS schema "
                             f"in rdial/schema.py (columns: {', '.join(schema.names)})")
        tp = schema.field(name).type
        ok = (pa.types.is_list(tp) or pa.types.is_large_list(tp)) and (
            is_value(tp.value_type) or pa.types.is_large_string(tp.value_type)
            or getattr(pa.types, "is_string_view", lambda t: False)(tp.value_type))
        if not ok:
            raise RdialError(f"{path}: column {name} has type {tp}; the SHARDS schema wants "
                             f"{'list<string>' if name == 'turn_texts' else 'list<float>'}")


class ShardStream:
    """One lane's view of the shards: which rows, in which windows, for each epoch."""

    def __init__(self, units: list[ShardUnit], *, lane: int, lanes: int, seed: int,
                 shuffle_rows: int = 20000):
        self.units, self.lane, self.lanes, self.seed = units, lane, lanes, seed
        self.shuffle_rows = shuffle_rows
        self._files: dict[Path, pq.ParquetFile] = {}

    def windows(self, epoch: int) -> list[list[tuple[ShardUnit, int, int]]]:
        """Windows of (unit, first row, end row) slices for this lane in `epoch`."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.units))
        windows, current, rows = [], [], 0
        for k, u in enumerate(order.tolist()):
            unit = self.units[u]
            part = (self.lane + k) % self.lanes
            lo, hi = unit.rows * part // self.lanes, unit.rows * (part + 1) // self.lanes
            if hi > lo:
                current.append((unit, lo, hi))
                rows += hi - lo
            if rows >= self.shuffle_rows:
                windows.append(current)
                current, rows = [], 0
        if current:
            windows.append(current)
        return windows

    def read(self, window: list[tuple[ShardUnit, int, int]]) -> tuple[list, list]:
        """(turn_texts per row, turn_weights per row) of the window's slices."""
        return read_slices(slices_of(window), self._files)


def slices_of(window: list[tuple[ShardUnit, int, int]]) -> tuple:
    return tuple((str(unit.path), unit.row_group, lo, hi) for unit, lo, hi in window)


def read_slices(slices: tuple, files: dict) -> tuple[list, list]:
    """Rows lo:hi of each (path, row group); `files` caches open Parquet files."""
    texts, weights = [], []
    for path, row_group, lo, hi in slices:
        if path not in files:
            files[path] = _open(Path(path))
        table = files[path].read_row_group(row_group, columns=list(COLUMNS)).slice(lo, hi - lo)
        texts += table.column("turn_texts").to_pylist()
        weights += table.column("turn_weights").to_pylist()
    return texts, weights


def encode_rows(tokenizer, texts: list, weights: list, max_seq_len: int,
                dropped: Counter, reverse: bool = False) -> list:
    """Examples of the rows that survive; each dropped row counted under its reason.
    `reverse`: the reverse model's examples (rdial.train.dialogue.encode_reverse_dialogue)."""
    encode = encode_reverse_dialogue if reverse else encode_dialogue
    flat = [t or "" for row in texts for t in (row or [])]
    encoded = tokenizer.encode_turns(flat)
    examples, at = [], 0
    for row, row_weights in zip(texts, weights):
        n = len(row or [])
        example, reason = encode(encoded[at:at + n], row_weights, eos_id=tokenizer.eos_id,
                                 max_seq_len=max_seq_len)
        at += n
        if example is None:
            dropped[reason] += 1
        else:
            examples.append(example)
    return examples


@dataclass(frozen=True)
class WindowJob:
    """Everything that decides one window's batches; built in this process or a worker."""
    slices: tuple          # ((path, row group, first row, end row), ...)
    tokenizer: str         # the tokenizer spec, loaded once per worker process
    seed: int
    epoch: int
    lane: int
    window: int
    batch_tokens: int
    max_seq_len: int
    reverse: bool = False  # rdial train --reverse
    pack_len: int = 0      # --seq-len of packed rows; 0: length-bucketed batches
    tokens: str = ""       # the split's token-cache directory (rdial.train.token_cache); "": tokenize


def build_window(job: WindowJob, tokenizer, files: dict) -> tuple[list[Batch], Counter, int]:
    """(batches, dropped rows by reason, rows read) of one window: a pure function of `job`.

    With `job.tokens` the rows' ids come from the memory-mapped token cache (no tokenizer, no
    Parquet read; `tokenizer` may be None); without, from the Parquet rows, tokenized here. The
    two give equal batches (tests/train/test_token_cache.py)."""
    dropped: Counter = Counter()
    if job.tokens:
        examples, rows, eos_id = cached_examples(job.tokens, job.slices, job.max_seq_len, dropped, job.reverse)
    else:
        texts, weights = read_slices(job.slices, files)
        examples = encode_rows(tokenizer, texts, weights, job.max_seq_len, dropped, job.reverse)
        rows, eos_id = len(texts), tokenizer.eos_id
    rng = np.random.default_rng([job.seed, job.epoch, job.lane, job.window])
    return (window_batches(examples, job.batch_tokens, eos_id, rng, pack_len=job.pack_len),
            dropped, rows)


def cached_examples(tokens: str, slices: tuple, max_seq_len: int, dropped: Counter,
                    reverse: bool = False) -> tuple[list, int, int]:
    """(examples, rows read, EOS id) of the slices' rows, from a split's token cache."""
    split = open_split(tokens)
    block = split.rows(slices)
    examples, reasons = encode_block(block, eos_id=split.eos_id, max_seq_len=max_seq_len, reverse=reverse)
    dropped.update(r for r in reasons.tolist() if r is not None)
    return examples, block.rows, split.eos_id


_WORKER: dict = {"files": {}, "tokenizers": {}}


def _build_in_worker(job: WindowJob):
    from rdial.train.tokenizer import load_tokenizer

    if job.tokens:  # nothing to tokenize: the worker never loads a tokenizer
        return build_window(job, None, _WORKER["files"])
    tokenizers = _WORKER["tokenizers"]
    if job.tokenizer not in tokenizers:
        tokenizers[job.tokenizer] = load_tokenizer(job.tokenizer)
    return build_window(job, tokenizers[job.tokenizer], _WORKER["files"])


def worker_pool(workers: int):
    """Processes that build windows (spawned: safe beside threads and CUDA); None for 0."""
    if workers <= 0:
        return None
    from rdial.executor import worker_pool as die_with_parent_pool

    return die_with_parent_pool(workers)  # workers die with the trainer and leave Ctrl-C to it


class DialogueLoader:
    """Endless micro-batches of one lane, produced by a background thread.

    Iterating yields (Batch, LanePosition after that batch). Windows are built in the thread
    (numpy on a memory map with `tokens`; else tokenization in Rust without the GIL, both
    overlapping the training step) or, given a
    `pool` of worker processes, several windows at once: each window by exactly one worker,
    results taken in window order, so the stream is the same with or without workers.
    """

    def __init__(self, stream: ShardStream, tokenizer, *, batch_tokens: int, max_seq_len: int,
                 position: LanePosition = LanePosition(), prefetch: int = 32, pool=None, reverse: bool = False,
                 pack_len: int = 0, tokens: str = ""):
        self.stream, self.tokenizer = stream, tokenizer
        self.tokens = tokens  # the train split's token-cache directory; "": tokenize on the fly
        self.reverse = reverse
        self.pack_len = pack_len
        self.batch_tokens, self.max_seq_len = batch_tokens, max_seq_len
        self.position = position
        self.prefetch = prefetch
        self.pool = pool
        self.dropped: Counter = Counter()
        self.rows = 0

    def jobs(self):
        """(WindowJob, batches to skip) from `self.position` on, endlessly."""
        epoch, w, skip = self.position.epoch, self.position.window, self.position.batch
        stream = self.stream
        while True:
            windows = stream.windows(epoch)
            if not windows:
                raise RdialError(f"lane {stream.lane} of {stream.lanes} has no dialogues: "
                                 f"the train split has fewer rows than lanes (ranks x --grad-accum)")
            for w in range(w, len(windows)):
                yield WindowJob(slices=slices_of(windows[w]), tokenizer=getattr(self.tokenizer, "name", ""), seed=stream.seed,
                                epoch=epoch, lane=stream.lane, window=w, batch_tokens=self.batch_tokens,
                                max_seq_len=self.max_seq_len, reverse=self.reverse, pack_len=self.pack_len,
                                tokens=self.tokens), skip
                skip = 0
            epoch, w = epoch + 1, 0

    def batches(self):
        """The lane's batches from `self.position` on, in the calling thread."""
        if self.pool is None:
            for job, skip in self.jobs():
                yield from self._emit(job, skip, build_window(job, self.tokenizer, self.stream._files))
            return
        pending: deque = deque()
        ahead = 2 * getattr(self.pool, "_max_workers", 2)
        for job, skip in self.jobs():
            pending.append((job, skip, self.pool.submit(_build_in_worker, job)))
            if len(pending) > ahead:
                job, skip, future = pending.popleft()
                yield from self._emit(job, skip, future.result())

    def _emit(self, job: WindowJob, skip: int, built):
        batches, dropped, rows = built
        self.dropped.update(dropped)
        self.rows += rows
        for b in range(skip, len(batches)):
            yield batches[b], LanePosition(job.epoch, job.window, b + 1)

    def __iter__(self):
        return _Prefetcher(self.batches(), self.prefetch)


class _Prefetcher:
    """Runs a generator in a daemon thread; re-raises its exception in the consumer."""

    _END = object()

    def __init__(self, generator, size: int):
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.generator = generator
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.generator:
                while not self.stopped.is_set():
                    try:
                        self.queue.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self.stopped.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self.queue.put(exc)
            return
        self.queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self.queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.stopped.set()


def eval_batches(units: list[ShardUnit], tokenizer, *, rank: int, world: int, limit: int,
                 batch_tokens: int, max_seq_len: int, reverse: bool = False,
                 pack_len: int = 0, tokens: str = "") -> tuple[list[Batch], Counter]:
    """This rank's share of the first `limit` dialogues of a split (0 = all), length-bucketed,
    or packed into rows of `pack_len` (the training batches' shape; same loss either way).
    `tokens`: the split's token-cache directory (same batches, read instead of tokenized)."""
    dropped: Counter = Counter()
    slices, rows = [], 0
    for unit in units:  # file order: every evaluation sees the same dialogues
        slices.append((str(unit.path), unit.row_group, 0, unit.rows))
        rows += unit.rows
        if limit and rows >= limit:
            break
    rows = min(rows, limit) if limit else rows
    mine = range(rank, rows, world)
    if tokens:
        split = open_split(tokens)
        block = split.rows(tuple(slices)).select(np.asarray(mine, dtype=np.int64))
        examples, reasons = encode_block(block, eos_id=split.eos_id, max_seq_len=max_seq_len, reverse=reverse)
        dropped.update(r for r in reasons.tolist() if r is not None)
        eos_id = split.eos_id
    else:
        texts, weights = read_slices(tuple(slices), {})
        examples = encode_rows(tokenizer, [texts[i] for i in mine], [weights[i] for i in mine],
                               max_seq_len, dropped, reverse)
        eos_id = tokenizer.eos_id
    if pack_len:
        return pack_batches(examples, batch_tokens, pack_len, eos_id, np.random.default_rng(0)), dropped
    groups = bucket_batches([len(e) for e in examples], batch_tokens)
    return [collate([examples[i] for i in g], eos_id) for g in groups], dropped
