"""The shards tokenised once: token ids (uint16) per turn, memory-mapped by the loader.

    rdial tokenize --shards corpus/shards          # or built by the first `rdial train`
    ls corpus/tokens/                              # <key>/ (a finished cache), <key>.lock
    python -c "from rdial.train.token_cache import *; c = TokenCache('corpus/tokens/<key>'); \
print(c.manifest['tokens'], c.split('train').rows([('corpus/shards/train/part-00000.parquet', 0, 0, 2)]))"

Key. A cache is `TOKENS/<key>/`, the key a hash of FORMAT, the shards' fingerprint
(rdial.train.rundir.shards_fingerprint: every part file's name, size, first and last MiB) and
the tokenizer's identity (a hash of the turn-text tokenizer's JSON, the EOS id, the vocabulary
size). Shards that changed, or another tokenizer, give another key: a stale cache is never read.
Nothing that depends on training flags is cached (not --max-seq-len, not --reverse): a turn's
ids are what `DialogueTokenizer.encode_turns` returns, so one cache serves every run on these
shards; dialogues are truncated and labelled per window (rdial.train.dialogue.encode_block).

Shape, per split and part file (`TOKENS/<key>/<split>/<part stem>/`, numpy .npy, mmap-able):
    ids.npy           uint16 [tokens]      every turn's ids, turns end to end, no EOS
    turn_offsets.npy  int64  [turns + 1]   turn t is ids[turn_offsets[t]:turn_offsets[t + 1]]
    row_offsets.npy   int64  [rows + 1]    row r's turns are turn_offsets[row_offsets[r]:...]
    target.npy        bool   [turns]       turn_weights[t] > 0: the turn may carry loss
    bad_weights.npy   bool   [rows]        turn_weights null or not one per turn
    meta.json         rows per row group, tokens, turns, the Parquet file's size
(uint32 ids instead of uint16 for a vocabulary over 65,536 tokens; manifest.json says which.)
The loss weights enter training only as "weight > 0" (DialoGPT's rule, dialogue.py), so
`target` is exactly what they decide. Rows keep the Parquet order, row groups included, so a
(part, row group, first row, end row) slice of the loader maps to a range of each array.

Build. Under an flock on `TOKENS/<key>.lock` (a second process waits, then reads the published
cache), parts are written into `TOKENS/<key>.partial/`, each under a `.tmp-*` name renamed when
complete; the finished tree gets its manifest.json and is renamed to `TOKENS/<key>`. A killed
build leaves only the partial tree: a rerun keeps its finished parts and builds the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rdial.errors import RdialError
from rdial.publish import TMP_PREFIX, _fsync_dir, atomic_write_json, explain_os_error, sweep_temporaries

FORMAT = "rdial-tokens-1"
SPLITS = ("train", "valid", "test")
MANIFEST = "manifest.json"
ARRAYS = ("ids", "turn_offsets", "row_offsets", "target", "bad_weights")


def default_root(shards: Path) -> Path:
    """`CORPUS/tokens` for `CORPUS/shards`: beside the shards, never inside (shards/ holds only
    Parquet files, which polars and HF `datasets` open as a whole)."""
    return Path(os.path.abspath(shards)).parent / "tokens"  # `--shards .` too; a symlink's own parent


def tokenizer_identity(tokenizer) -> dict:
    """What decides the ids: the turn-text tokenizer (its JSON, added tokens removed), EOS, vocab."""
    spec = tokenizer.text.to_str().encode("utf-8")
    return {"sha": hashlib.blake2b(spec, digest_size=16).hexdigest(), "eos_id": int(tokenizer.eos_id),
            "vocab_size": int(tokenizer.vocab_size)}


def cache_key(fingerprint: str, tokenizer) -> str:
    identity = {"format": FORMAT, "shards": fingerprint, "tokenizer": tokenizer_identity(tokenizer)}
    return hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=10).hexdigest()


def ids_dtype(vocab_size: int):
    return np.uint16 if vocab_size <= 1 << 16 else np.uint32


# --- reading ---------------------------------------------------------------------------------
@dataclass
class RowBlock:
    """Some rows of a split, turns end to end (the loader's window, or an eval split's share)."""
    ids: np.ndarray          # [tokens] uint16/uint32: the rows' turns' ids, no EOS
    turn_len: np.ndarray     # [turns] int64: tokens of each turn
    target: np.ndarray       # [turns] bool: weight > 0
    row_turns: np.ndarray    # [rows] int64: turns of each row
    bad_weights: np.ndarray  # [rows] bool

    @property
    def rows(self) -> int:
        return len(self.row_turns)

    def select(self, rows: np.ndarray) -> "RowBlock":
        """The block of `rows` (indices into this block), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        turn_start = _exclusive_cumsum(self.row_turns)
        turns = ranges(turn_start[rows], self.row_turns[rows])
        token_start = _exclusive_cumsum(self.turn_len)
        tokens = ranges(token_start[turns], self.turn_len[turns])
        return RowBlock(ids=self.ids[tokens], turn_len=self.turn_len[turns], target=self.target[turns],
                        row_turns=self.row_turns[rows], bad_weights=self.bad_weights[rows])


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)]), without the loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(total, dtype=np.int64) + np.repeat(np.asarray(starts, dtype=np.int64)
                                                        - _exclusive_cumsum(lengths), lengths)


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    np.cumsum(values[:-1], out=out[1:])
    return out


class _Part:
    """One part file's arrays, memory-mapped on first use."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        self.group_start = np.concatenate([[0], np.cumsum(self.meta["row_groups"])]).astype(np.int64)
        self._arrays: dict | None = None

    @property
    def arrays(self) -> dict:
        if self._arrays is None:
            self._arrays = {name: np.load(self.directory / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        return self._arrays


class SplitTokens:
    """One split of a cache: `rows(slices)` gives the RowBlock of the loader's Parquet slices."""

    def __init__(self, directory: Path, eos_id: int):
        self.directory, self.eos_id = Path(directory), eos_id
        self.parts = {p.name: _Part(p) for p in sorted(self.directory.iterdir())
                      if p.is_dir() and not p.name.startswith(TMP_PREFIX)} if self.directory.is_dir() else {}

    def rows(self, slices) -> RowBlock:
        """Rows lo:hi of each (path, row group, lo, hi), as in rdial.train.loader.read_slices."""
        pieces = []
        for path, row_group, lo, hi in slices:
            part = self.parts.get(Path(path).stem)
            if part is None or row_group >= len(part.meta["row_groups"]) or hi > part.meta["row_groups"][row_group]:
                raise RdialError(f"{self.directory}: no cached rows {lo}:{hi} of row group {row_group} of "
                                 f"{Path(path).name}; the cache does not match the shards (delete it: "
                                 f"rm -r {self.directory.parent})")
            a = part.arrays
            r0, r1 = int(part.group_start[row_group]) + lo, int(part.group_start[row_group]) + hi
            t0, t1 = int(a["row_offsets"][r0]), int(a["row_offsets"][r1])
            k0, k1 = int(a["turn_offsets"][t0]), int(a["turn_offsets"][t1])
            pieces.append((a["ids"][k0:k1], np.diff(a["turn_offsets"][t0:t1 + 1]), a["target"][t0:t1],
                           np.diff(a["row_offsets"][r0:r1 + 1]), a["bad_weights"][r0:r1]))
        if not pieces:
            return RowBlock(*(np.zeros(0, dtype=t) for t in (np.uint16, np.int64, bool, np.int64, bool)))
        return RowBlock(*(np.concatenate(column) for column in zip(*pieces)))


class TokenCache:
    """A published cache directory `TOKENS/<key>`."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        path = self.directory / MANIFEST
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RdialError(f"{path}: not a readable token-cache manifest ({exc}); delete "
                             f"{self.directory} and rerun to rebuild it") from exc
        if self.manifest.get("format") != FORMAT:
            raise RdialError(f"{path}: format {self.manifest.get('format')!r}, this rdial reads {FORMAT}")
        self.eos_id = int(self.manifest["tokenizer"]["eos_id"])

    def split(self, name: str) -> SplitTokens:
        return SplitTokens(self.directory / name, self.eos_id)

    def split_dir(self, name: str) -> str:
        return str(self.directory / name)


_OPEN: dict[str, SplitTokens] = {}


def open_split(directory: str) -> SplitTokens:
    """The split of a cache, opened once per process (loader workers get only the path)."""
    if directory not in _OPEN:
        manifest = json.loads((Path(directory).parent / MANIFEST).read_text(encoding="utf-8"))
        _OPEN[directory] = SplitTokens(Path(directory), int(manifest["tokenizer"]["eos_id"]))
    return _OPEN[directory]


# --- building --------------------------------------------------------------------------------
def tokenize_table(table: pa.Table, tokenizer, dtype) -> dict:
    """The arrays of one row group's `turn_texts` and `turn_weights` (see the module docstring)."""
    texts = table.column("turn_texts").combine_chunks()
    weights = table.column("turn_weights").combine_chunks()
    row_turns = pc.fill_null(pc.list_value_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    weight_len = pc.fill_null(pc.list_value_length(weights), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    bad = weight_len != row_turns  # null weights, or not one per turn: bad_weights
    flat_texts = [t or "" for t in texts.flatten().to_pylist()]  # a null turn reads as "" (as encode_rows)
    encoded = tokenizer.encode_turns(flat_texts) if flat_texts else []
    turn_len = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ids = np.fromiter(itertools.chain.from_iterable(encoded), dtype=dtype, count=int(turn_len.sum()))
    if not bad.any():
        target = pc.fill_null(pc.greater(weights.flatten(), 0), False).to_numpy(zero_copy_only=False).astype(bool)
    else:  # rows whose weights do not match their turns: no turn of theirs is a target
        target = np.zeros(len(encoded), dtype=bool)
        at = 0
        for r, row in enumerate(weights.to_pylist()):
            k = int(row_turns[r])
            if not bad[r]:
                target[at:at + k] = [w is not None and w > 0 for w in row]
            at += k
    return {"ids": ids, "turn_len": turn_len, "target": target, "row_turns": row_turns, "bad_weights": bad}


def build_part(path: Path, out: Path, tokenizer, dtype, progress=None) -> dict:
    """Tokenise one Parquet part file into `out` (published by rename when complete)."""
    from rdial.train.loader import COLUMNS, _open, check_schema

    parquet = _open(path)
    check_schema(path, parquet.schema_arrow)
    groups, chunks = [], []
    for g in range(parquet.num_row_groups):
        table = parquet.read_row_group(g, columns=list(COLUMNS))
        chunks.append(tokenize_table(table, tokenizer, dtype))
        groups.append(len(table))
        if progress is not None:
            progress.update(len(table), tokens=int(chunks[-1]["turn_len"].sum()))
    cat = {k: np.concatenate([c[k] for c in chunks]) if chunks else np.zeros(0, dtype=t)
           for k, t in (("ids", dtype), ("turn_len", np.int64), ("target", bool), ("row_turns", np.int64),
                        ("bad_weights", bool))}
    arrays = {"ids": cat["ids"], "turn_offsets": np.concatenate([[0], np.cumsum(cat["turn_len"])]).astype(np.int64),
              "row_offsets": np.concatenate([[0], np.cumsum(cat["row_turns"])]).astype(np.int64),
              "target": cat["target"], "bad_weights": cat["bad_weights"]}
    meta = {"file": path.name, "bytes": path.stat().st_size, "rows": int(sum(groups)), "row_groups": groups,
            "tokens": int(len(arrays["ids"])), "turns": int(len(arrays["target"]))}
    tmp = out.with_name(f"{TMP_PREFIX}{out.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in arrays.items():
        with open(tmp / f"{name}.npy", "wb") as fh:
            np.save(fh, array)
            fh.flush()
            os.fsync(fh.fileno())
    atomic_write_json(tmp / "meta.json", meta)
    os.replace(tmp, out)
    _fsync_dir(out.parent)
    return meta


@contextlib.contextmanager
def _build_lock(path: Path, say):
    """Block on an flock (not an error: a second trainer or rank waits for the first's build)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            say(f"waiting for {holder} to finish building {path.with_suffix('')}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)


def ensure_cache(shards: Path, tokenizer, *, root: Path | None = None, fingerprint: str | None = None,
                 progress: bool = True, say=None) -> TokenCache:
    """The cache of these shards and this tokenizer: opened if published, else built first."""
    from rdial.progress import Progress
    from rdial.train.loader import split_files
    from rdial.train.rundir import shards_fingerprint

    say = say or (lambda m: Progress.message(f"rdial train: {m}"))
    shards = Path(shards)
    root = Path(root) if root is not None else default_root(shards)
    fingerprint = fingerprint or shards_fingerprint(shards)
    key = cache_key(fingerprint, tokenizer)
    final = root / key
    if (final / MANIFEST).exists():
        return TokenCache(final)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _build_lock(root / f"{key}.lock", say):
            if (final / MANIFEST).exists():  # built by the process we waited for
                return TokenCache(final)
            _build(shards, tokenizer, root, key, fingerprint, progress, say, split_files)
    except OSError as exc:
        raise RdialError(f"{explain_os_error(exc, Path(exc.filename or root))}; the token cache goes to "
                         f"{root} (--token-cache DIR puts it elsewhere)") from exc
    return TokenCache(final)


def _rows(path: Path) -> int:
    from rdial.train.loader import _open

    return _open(path).metadata.num_rows


def _build(shards, tokenizer, root, key, fingerprint, progress, say, split_files) -> None:
    from rdial.progress import Progress
    from rdial.train.rundir import shards_fingerprint

    partial = root / f"{key}.partial"
    sweep_temporaries(partial)  # a part a killed build was writing
    dtype = ids_dtype(tokenizer.vocab_size)
    files = {split: split_files(shards, split, required=False) for split in SPLITS}
    done = {split: [f for f in fs if (partial / split / f.stem / "meta.json").exists()] for split, fs in files.items()}
    todo = [f for s, fs in files.items() for f in fs if f not in done[s]]
    todo_bytes = sum(f.stat().st_size for f in todo)
    todo_rows = sum(_rows(f) for f in todo)
    kept = sum(map(len, done.values()))
    say(f"tokenizing {shards} once into {root / key} ({sum(map(len, files.values())) - kept} part files, "
        f"{human_size(todo_bytes)} of Parquet" + (f"; {kept} kept from a killed build" if kept else "") + ")")
    started = time.monotonic()
    bar = Progress("tokenize", total=todo_rows, unit="rows", enabled=progress)
    parts = {}
    for split, fs in files.items():
        (partial / split).mkdir(parents=True, exist_ok=True)
        parts[split] = []
        for f in fs:
            out = partial / split / f.stem
            meta = (json.loads((out / "meta.json").read_text(encoding="utf-8")) if f in done[split]
                    else build_part(f, out, tokenizer, dtype, bar))
            parts[split].append(meta)
    bar.close()
    if shards_fingerprint(shards) != fingerprint:
        shutil.rmtree(partial, ignore_errors=True)
        raise RdialError(f"--shards: {shards} changed while it was being tokenized (a `rdial filter` "
                         f"published new shards?); rerun to tokenize the new shards")
    manifest = {"format": FORMAT, "key": key, "shards": str(shards), "shards_fingerprint": fingerprint,
                "tokenizer": dict(tokenizer_identity(tokenizer), name=tokenizer.name), "ids_dtype": np.dtype(dtype).name,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "splits": {s: {"rows": sum(m["rows"] for m in ps), "tokens": sum(m["tokens"] for m in ps),
                               "turns": sum(m["turns"] for m in ps), "files": len(ps)} for s, ps in parts.items()}}
    manifest["tokens"] = sum(s["tokens"] for s in manifest["splits"].values())
    manifest["bytes"] = sum(p.stat().st_size for p in partial.rglob("*.npy"))
    atomic_write_json(partial / MANIFEST, manifest)
    os.replace(partial, root / key)
    _fsync_dir(root)
    seconds = time.monotonic() - started
    say(f"token cache {root / key}: {manifest['tokens']:,} tokens, {human_size(manifest['bytes'])}, "
        f"built in {seconds:.1f} s; delete it with rm -r {root / key}")
    older = [p for p in root.iterdir() if p.is_dir() and p.name != key and (p / MANIFEST).exists()]
    if older:
        size = sum(f.stat().st_size for p in older for f in p.rglob("*.npy"))
        say(f"{len(older)} older token cache(s) in {root} ({human_size(size)}) are for other shards or "
            f"tokenizers; rm -r them when no run needs them")


def human_size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"
