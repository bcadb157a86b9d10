"""The token cache (rdial/train/token_cache.py): what it holds, when its key changes, a killed
build, and batches from it equal to the on-the-fly path's, tensor for tensor (issue 11)."""

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from rdial.errors import RdialError
from rdial.train import token_cache
from rdial.train.dialogue import IGNORE, encode_block, encode_dialogue, encode_reverse_dialogue
from rdial.train.rundir import shards_fingerprint
from rdial.train.loader import DialogueLoader, build_window, LanePosition, ShardStream, eval_batches, shard_units, split_files
from rdial.train.token_cache import RowBlock, TokenCache, cache_key, default_root, ensure_cache
from rdial.train.tokenizer import DialogueTokenizer
from tests.train.sample import sample_dialogue, write_shard

EOS = 50256
QUIET = {"progress": False, "say": lambda m: None}


def row(texts, weights) -> dict:
    k = len(texts or [])
    return {"link_id": "t3_x", "subreddit": "s", "turn_ids": [f"c{i}" for i in range(k)],
            "turn_authors": ["u"] * k, "turn_texts": texts, "turn_scores": [1] * k,
            "turn_created": [1] * k, "over_18": False, "turn_weights": weights}


# Rows every rule of encode_dialogue sees (with --max-seq-len 16): kept, dropped for each reason,
# truncated, a weight-0 middle turn, a null turn text, a comment that spells <|endoftext|>.
EDGE = [row(["Hello world", "hi there"], [0.0, 1.0]),
        row(["only one turn"], [0.0]),                                          # one_turn
        row(["a b", "c d"], [0.0]),                                             # bad_weights
        row(["a b", "c d"], None),                                              # bad_weights
        row(["a", "b", "c"], [0.0, 0.0, 0.0]),                                  # no_target
        row(["short", " ".join(["word"] * 20)], [0.0, 1.0]),                    # too_long
        row([" ".join(["old"] * 30), "new reply"], [0.0, 1.0]),                 # context cut
        row(["w x", "y z", "p q", "r s"], [0.0, 0.0, 1.0, 1.0]),                # weight-0 turn
        row(["hey", None, "yes"], [0.0, 1.0, 1.0]),                             # a null turn
        row(["a <|endoftext|> b", "ok"], [0.0, 1.0]),
        row(None, [])]                                                          # no turns


def corpus(directory: Path, *, train: int = 90, seed: int = 7) -> Path:
    """Edge rows spread among `train` sample dialogues in two files (row groups of 9), plus
    valid and test."""
    rng = np.random.default_rng(seed)
    rows = [sample_dialogue(rng, i, filler_words=12) for i in range(train)]
    for i, edge in enumerate(EDGE):
        rows.insert(7 * i, edge)
    half = len(rows) // 2
    write_shard(directory / "train" / "part-00000.parquet", rows[:half], rows_per_group=9)
    write_shard(directory / "train" / "part-00001.parquet", rows[half:], rows_per_group=9)
    write_shard(directory / "valid" / "part-00000.parquet", EDGE + rows[:20], rows_per_group=9)
    write_shard(directory / "test" / "part-00000.parquet", rows[20:30], rows_per_group=9)
    return directory


@pytest.fixture
def shards(tmp_path) -> Path:
    return corpus(tmp_path / "corpus" / "shards")


def test_the_cache_holds_a_known_dialogue_as_uint16_turns(tmp_path, tokenizer):
    shards = tmp_path / "shards"
    write_shard(shards / "train" / "part-00000.parquet", [EDGE[0], EDGE[7], EDGE[2]], rows_per_group=2)
    cache = ensure_cache(shards, tokenizer, **QUIET)
    assert cache.directory.parent == tmp_path / "tokens"  # beside shards/, not inside it
    assert sorted(p.name for p in (shards / "train").iterdir()) == ["part-00000.parquet"]
    block = cache.split("train").rows([(str(shards / "train" / "part-00000.parquet"), 0, 0, 1)])
    assert block.ids.dtype == np.uint16
    assert block.ids.tolist() == [15496, 995, 5303, 612]     # "Hello world", "hi there"
    assert block.turn_len.tolist() == [2, 2] and block.target.tolist() == [False, True]
    second_group = cache.split("train").rows([(str(shards / "train" / "part-00000.parquet"), 1, 0, 1)])
    assert second_group.row_turns.tolist() == [2] and second_group.bad_weights.tolist() == [True]
    m = cache.manifest
    # "w x" "y z" "p q" "r s": 2 tokens each; "a b" "c d": 2 each
    assert m["splits"]["train"] == {"rows": 3, "tokens": 4 + 8 + 4, "turns": 8, "files": 1}
    assert m["splits"]["valid"] == {"rows": 0, "tokens": 0, "turns": 0, "files": 0}
    assert (m["ids_dtype"], m["tokenizer"]["eos_id"], m["tokenizer"]["name"]) == ("uint16", EOS, "gpt2-offline")
    part = cache.directory / "train" / "part-00000"
    assert np.load(part / "turn_offsets.npy").tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16]
    assert np.load(part / "row_offsets.npy").tolist() == [0, 2, 6, 8]
    assert json.loads((part / "meta.json").read_text())["row_groups"] == [2, 1]


def block_of(dialogues) -> RowBlock:
    """A RowBlock from (turns as id lists, weights) pairs; weights None or of another length: bad."""
    turns = [t for d, _ in dialogues for t in d]
    return RowBlock(ids=np.array([i for t in turns for i in t], dtype=np.uint16),
                    turn_len=np.array([len(t) for t in turns], dtype=np.int64),
                    target=np.array([bool(w is not None and len(w) == len(d) and w[i] > 0)
                                     for d, w in dialogues for i in range(len(d))], dtype=bool),
                    row_turns=np.array([len(d) for d, _ in dialogues], dtype=np.int64),
                    bad_weights=np.array([w is None or len(w) != len(d) for d, w in dialogues], dtype=bool))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("max_seq_len", [8, 13, 40])
def test_encode_block_equals_the_one_dialogue_encoders(reverse, max_seq_len):
    rng = np.random.default_rng(max_seq_len)
    dialogues = [([[1, 2]], [1.0]), ([], []), ([[5], [6]], None), ([[5], [6]], [0.0]), ([[], [7], []], [0, 1, 1])]
    for _ in range(300):
        k = int(rng.integers(1, 6))
        turns = [rng.integers(0, 50000, int(rng.integers(0, 12))).tolist() for _ in range(k)]
        dialogues.append((turns, rng.choice([0.0, 0.5, 1.0], size=k).tolist()))
    encode = encode_reverse_dialogue if reverse else encode_dialogue
    expected = [encode(d, w, eos_id=EOS, max_seq_len=max_seq_len) for d, w in dialogues]
    examples, reasons = encode_block(block_of(dialogues), eos_id=EOS, max_seq_len=max_seq_len, reverse=reverse)
    assert reasons.tolist() == [r for _, r in expected]
    assert [(e.ids.tolist(), e.labels.tolist()) for e in examples] == \
        [(e.ids, e.labels) for e, _ in expected if e is not None]
    assert {r for _, r in expected} >= {None, "one_turn", "bad_weights", "no_target"}


def batches_equal(a, b) -> None:
    assert (a.tokens, a.loss_tokens) == (b.tokens, b.loss_tokens)
    for name in ("input_ids", "labels", "position_ids", "doc_ids"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype == torch.int64 and torch.equal(x, y), name


@pytest.mark.parametrize("pack_len,reverse", [(0, False), (32, False), (32, True)])
def test_cached_batches_equal_on_the_fly_batches_across_a_resume(shards, tokenizer, pack_len, reverse):
    cache = ensure_cache(shards, tokenizer, **QUIET)
    units = shard_units(split_files(shards, "train"))

    def loader(lane, tokens="", position=LanePosition()):  # cached: no tokenizer at all
        return DialogueLoader(ShardStream(units, lane=lane, lanes=2, seed=11, shuffle_rows=20),
                              None if tokens else tokenizer,
                              batch_tokens=64, max_seq_len=16, pack_len=pack_len, reverse=reverse,
                              position=position, tokens=tokens)

    for lane in (0, 1):
        fly, cached = loader(lane), loader(lane, cache.split_dir("train"))
        reference = [x for x, _ in zip(fly.batches(), range(40))]          # past epoch 0 (~25 batches)
        stream = cached.batches()
        first = [next(stream) for _ in range(13)]
        resumed = loader(lane, cache.split_dir("train"), position=first[-1][1])
        got = first + [x for x, _ in zip(resumed.batches(), range(27))]
        assert [p for _, p in got] == [p for _, p in reference]
        assert any(p.epoch == 1 for _, p in got) and 0 < first[-1][1].batch
        for (a, _), (b, _) in zip(reference, got):
            batches_equal(a, b)
    dropped = []
    for tokens in ("", cache.split_dir("train")):  # both lanes' whole epoch 0
        total = {}
        for lane in (0, 1):
            for job, _ in loader(lane, tokens).jobs():
                if job.epoch:
                    break
                for reason, n in build_window(job, tokenizer, {})[1].items():
                    total[reason] = total.get(reason, 0) + n
        dropped.append(total)
    assert dropped[0] == dropped[1] == {"bad_weights": 2, "no_target": 1, "one_turn": 2, "too_long": 1}


def test_an_epoch_from_the_cache_drops_each_edge_row_for_its_reason(tmp_path, tokenizer):
    shards = tmp_path / "shards"
    write_shard(shards / "train" / "part-00000.parquet", EDGE, rows_per_group=4)
    cache = ensure_cache(shards, tokenizer, **QUIET)
    units = shard_units(split_files(shards, "train"))
    for tokens in ("", cache.split_dir("train")):
        loader = DialogueLoader(ShardStream(units, lane=0, lanes=1, seed=0), tokenizer, batch_tokens=64,
                                max_seq_len=16, tokens=tokens)
        job, _ = next(loader.jobs())  # the whole epoch is one window
        batches, dropped, rows = build_window(job, tokenizer, {})
        assert (sum(b.input_ids.shape[0] for b in batches), rows) == (5, len(EDGE))
        assert dict(dropped) == {"one_turn": 2, "bad_weights": 2, "no_target": 1, "too_long": 1}


def test_worker_processes_read_the_cache_without_a_tokenizer(shards, tokenizer):
    from rdial.train.loader import worker_pool

    cache = ensure_cache(shards, tokenizer, **QUIET)
    units = shard_units(split_files(shards, "train"))

    def first_batches(pool):
        loader = DialogueLoader(ShardStream(units, lane=0, lanes=1, seed=2, shuffle_rows=30), None, batch_tokens=64,
                                max_seq_len=16, pack_len=32, position=LanePosition(0, 1, 2), pool=pool,
                                tokens=cache.split_dir("train"))
        return [x for x, _ in zip(loader.batches(), range(12))]

    pool = worker_pool(1)
    try:
        with_pool = first_batches(pool)
    finally:
        pool.shutdown(cancel_futures=True)
    in_thread = first_batches(None)
    assert [p for _, p in with_pool] == [p for _, p in in_thread]
    for (a, _), (b, _) in zip(with_pool, in_thread):
        batches_equal(a, b)


@pytest.mark.parametrize("world", [1, 2])
def test_eval_batches_from_the_cache_equal_the_tokenized_ones(shards, tokenizer, world):
    cache = ensure_cache(shards, tokenizer, **QUIET)
    units = shard_units(split_files(shards, "valid"))
    for rank in range(world):
        for limit in (0, 15):
            fly, fly_dropped = eval_batches(units, tokenizer, rank=rank, world=world, limit=limit,
                                            batch_tokens=64, max_seq_len=16)
            got, dropped = eval_batches(units, tokenizer, rank=rank, world=world, limit=limit, batch_tokens=64,
                                        max_seq_len=16, tokens=cache.split_dir("valid"))
            assert len(got) == len(fly) > 0 and dropped == fly_dropped
            for a, b in zip(fly, got):
                batches_equal(a, b)


def test_the_key_changes_with_the_shards_and_the_tokenizer_not_the_path(shards, tokenizer, tmp_path):
    first = ensure_cache(shards, tokenizer, **QUIET)
    fingerprint = shards_fingerprint(shards)
    assert first.directory.name == cache_key(fingerprint, tokenizer)
    other_eos = DialogueTokenizer(hf=tokenizer.hf, text=tokenizer.text, eos_id=0, name=tokenizer.name)
    spec = json.loads(tokenizer.text.to_str())
    spec["model"]["merges"] = spec["model"]["merges"][:-1]  # one merge fewer: other ids
    from tokenizers import Tokenizer

    other_bpe = DialogueTokenizer(hf=tokenizer.hf, text=Tokenizer.from_str(json.dumps(spec)),
                                  eos_id=tokenizer.eos_id, name=tokenizer.name)
    renamed = DialogueTokenizer(hf=tokenizer.hf, text=tokenizer.text, eos_id=tokenizer.eos_id, name="elsewhere")
    keys = {cache_key(fingerprint, t) for t in (tokenizer, other_eos, other_bpe)}
    assert len(keys) == 3 and cache_key(fingerprint, renamed) == first.directory.name
    # a copy of the shards elsewhere has the same key; a changed shard file another
    copy = tmp_path / "copy" / "shards"
    corpus(copy)
    assert cache_key(shards_fingerprint(copy), tokenizer) == first.directory.name
    said = []
    rows = pq.read_table(shards / "test" / "part-00000.parquet").to_pylist()
    write_shard(shards / "test" / "part-00000.parquet", rows[:-1], rows_per_group=9)
    second = ensure_cache(shards, tokenizer, progress=False, say=said.append)
    assert second.directory != first.directory and second.directory.parent == first.directory.parent
    assert second.manifest["splits"]["test"]["rows"] == first.manifest["splits"]["test"]["rows"] - 1
    assert said[-1].startswith(f"1 older token cache(s) in {first.directory.parent} (")


def test_a_killed_build_publishes_nothing_and_the_rerun_finishes_it(shards, tokenizer, tmp_path, monkeypatch):
    real = token_cache.build_part
    calls = []

    def killed_on_the_third_part(path, out, *args):
        calls.append(path.name)
        if len(calls) == 3:
            (out.parent / f".tmp-{out.name}").mkdir()  # what a kill while writing leaves
            raise KeyboardInterrupt
        return real(path, out, *args)

    monkeypatch.setattr(token_cache, "build_part", killed_on_the_third_part)
    with pytest.raises(KeyboardInterrupt):
        ensure_cache(shards, tokenizer, **QUIET)
    root = default_root(shards)
    key = cache_key(shards_fingerprint(shards), tokenizer)
    assert sorted(p.name for p in root.iterdir()) == [f"{key}.lock", f"{key}.partial"]
    assert sorted(p.name for p in (root / f"{key}.partial" / "train").iterdir()) == ["part-00000", "part-00001"]
    assert sorted(p.name for p in (root / f"{key}.partial" / "valid").iterdir()) == [".tmp-part-00000"]
    monkeypatch.setattr(token_cache, "build_part", real)
    said = []
    finished = ensure_cache(shards, tokenizer, progress=False, say=said.append)
    assert "(2 part files, " in said[0] and said[0].endswith(" KiB of Parquet; 2 kept from a killed build)")
    assert sorted(p.name for p in root.iterdir()) == [key, f"{key}.lock"]
    assert sorted(p.name for p in (finished.directory / "train").iterdir()) == ["part-00000", "part-00001"]
    clean = ensure_cache(shards, tokenizer, root=tmp_path / "clean", **QUIET)
    for split in ("train", "valid", "test"):
        for part in (clean.directory / split).iterdir():
            for name in token_cache.ARRAYS:
                a = np.load(part / f"{name}.npy")
                b = np.load(finished.directory / split / part.name / f"{name}.npy")
                assert a.dtype == b.dtype and np.array_equal(a, b), (split, part.name, name)
    assert clean.manifest["splits"] == finished.manifest["splits"]


def test_a_second_builder_waits_for_the_first_then_reads_its_cache(shards, tokenizer):
    import fcntl

    root = default_root(shards)
    root.mkdir(parents=True)
    key = cache_key(shards_fingerprint(shards), tokenizer)
    fd = os.open(root / f"{key}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"pid 4242", 0)
    import threading

    said, done = [], []
    waiter = threading.Thread(target=lambda: done.append(ensure_cache(shards, tokenizer, progress=False,
                                                                      say=said.append)))
    waiter.start()
    waiter.join(timeout=1.0)
    assert waiter.is_alive() and said == [f"waiting for pid 4242 to finish building {root / key}"]
    os.close(fd)
    waiter.join(timeout=60)
    assert done[0].directory == root / key and (root / key / "manifest.json").exists()


def test_an_unwritable_cache_directory_is_one_line_naming_the_flag(shards, tokenizer, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RdialError, match=r"^cannot write .*file.*; the token cache goes to .*file/tokens "
                                         r"\(--token-cache DIR puts it elsewhere\)$"):
        ensure_cache(shards, tokenizer, root=blocker / "tokens", **QUIET)


def test_large_types_written_by_polars_tokenize_the_same(tmp_path, tokenizer):
    a, b = tmp_path / "a", tmp_path / "b"
    write_shard(a / "train" / "part-00000.parquet", EDGE)
    table = pq.read_table(a / "train" / "part-00000.parquet")
    large = table.cast(pa.schema([pa.field(f.name, pa.large_list(pa.large_string()) if f.name == "turn_texts"
                                            else pa.large_list(pa.float64()) if f.name == "turn_weights" else f.type)
                                  for f in table.schema]))
    (b / "train").mkdir(parents=True)
    pq.write_table(large, b / "train" / "part-00000.parquet")
    x = ensure_cache(a, tokenizer, **QUIET).split("train").rows([(str(a / "train" / "part-00000.parquet"), 0, 0, 11)])
    y = ensure_cache(b, tokenizer, **QUIET).split("train").rows([(str(b / "train" / "part-00000.parquet"), 0, 0, 11)])
    for name in ("ids", "turn_len", "target", "row_turns", "bad_weights"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    assert x.row_turns.tolist() == [2, 1, 2, 2, 3, 2, 2, 4, 3, 2, 0]


def test_rdial_tokenize_builds_what_train_then_reads(shards, tmp_path, capsys, monkeypatch):
    from rdial.cli import main
    from rdial.train.trainer import TrainConfig, train

    assert main(["tokenize", "--shards", str(shards), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    built = Path(out.strip())
    assert built.parent == shards.parent / "tokens" and (built / "manifest.json").exists()
    assert f"rdial tokenize: {built}: train 101 rows / " in err
    assert main(["tokenize", "--shards", str(shards), "--no-progress"]) == 0  # built already: kept
    assert capsys.readouterr().out.strip() == str(built)

    def no_second_build(*a, **k):
        raise AssertionError("train tokenized again")

    monkeypatch.setattr(token_cache, "build_part", no_second_build)
    summary = train(TrainConfig(shards=shards, out=tmp_path / "run", model="tiny", max_steps=2, batch_tokens=128,
                                max_seq_len=32, warmup_steps=0, eval_every=0, eval_dialogues=10, save_every=0,
                                log_every=1, progress=False, device="cpu"))
    assert summary.steps == 2 and summary.valid_loss is not None
    assert sorted(p.name for p in (shards.parent / "tokens").iterdir()) == [built.name, f"{built.name}.lock"]


def test_shards_that_change_during_the_build_are_refused(shards, tokenizer, monkeypatch):
    real = token_cache.build_part
    key = cache_key(shards_fingerprint(shards), tokenizer)

    def filter_publishes_meanwhile(path, out, *args):
        meta = real(path, out, *args)
        if path.parent.name == "train" and path.name == "part-00000.parquet":
            write_shard(shards / "test" / "part-00000.parquet", EDGE, rows_per_group=9)
        return meta

    monkeypatch.setattr(token_cache, "build_part", filter_publishes_meanwhile)
    with pytest.raises(RdialError, match=r"^--shards: .*shards changed while it was being tokenized \(a `rdial "
                                         r"filter` published new shards\?\); rerun to tokenize the new shards$"):
        ensure_cache(shards, tokenizer, **QUIET)
    assert [p.name for p in default_root(shards).iterdir()] == [f"{key}.lock"]  # nothing published or kept
