from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rdial.errors import RdialError
from rdial.train.loader import (DialogueLoader, LanePosition, ShardStream, eval_batches, shard_units,
                                split_files)
from tests.train.sample import write_shard


def numbered_rows(first: int, count: int) -> list[dict]:
    """Dialogue i reads "dialogue i" then "reply i" (plus i % 4 filler words, to vary lengths)."""
    rows = []
    for i in range(first, first + count):
        texts = [f"dialogue {i}" + " yes" * (i % 4), f"reply {i}"]
        rows.append({"link_id": f"t3_{i}", "subreddit": "s", "turn_ids": [f"a{i}", f"b{i}"],
                     "turn_authors": ["u", "v"], "turn_texts": texts, "turn_scores": [1, 1],
                     "turn_created": [1, 2], "over_18": False, "turn_weights": [0.0, 1.0]})
    return rows


@pytest.fixture
def numbered(tmp_path) -> Path:
    """53 dialogues in two files: 30 rows (row groups of 7) and 23 rows (one row group)."""
    write_shard(tmp_path / "train" / "part-00000.parquet", numbered_rows(0, 30), rows_per_group=7)
    write_shard(tmp_path / "train" / "part-00001.parquet", numbered_rows(30, 23), rows_per_group=100)
    return tmp_path


def dialogue_numbers(batch, tokenizer) -> list[int]:
    out = []
    for row in batch.input_ids.tolist():
        text = tokenizer.hf.decode(row[:row.index(tokenizer.eos_id)])
        out.append(int(text.split()[1]))
    return out


def epoch_zero(units, tokenizer, lane, lanes, **kw) -> list[int]:
    loader = DialogueLoader(ShardStream(units, lane=lane, lanes=lanes, seed=3, shuffle_rows=10),
                            tokenizer, batch_tokens=64, max_seq_len=32, **kw)
    seen = []
    for batch, position in loader.batches():
        if position.epoch > 0:
            break
        seen += dialogue_numbers(batch, tokenizer)
    return seen


def test_units_are_row_groups(numbered):
    units = shard_units(split_files(numbered, "train"))
    assert [(u.path.name, u.row_group, u.rows) for u in units] == [
        ("part-00000.parquet", 0, 7), ("part-00000.parquet", 1, 7), ("part-00000.parquet", 2, 7),
        ("part-00000.parquet", 3, 7), ("part-00000.parquet", 4, 2), ("part-00001.parquet", 0, 23)]


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_lanes_split_an_epoch_with_no_overlap_and_no_gap(numbered, tokenizer, lanes):
    units = shard_units(split_files(numbered, "train"))
    per_lane = [epoch_zero(units, tokenizer, lane, lanes) for lane in range(lanes)]
    everything = [n for seen in per_lane for n in seen]
    assert sorted(everything) == list(range(53))
    assert max(map(len, per_lane)) - min(map(len, per_lane)) <= len(units)


def test_order_depends_on_seed_and_epoch_only(numbered, tokenizer):
    units = shard_units(split_files(numbered, "train"))
    assert epoch_zero(units, tokenizer, 1, 2) == epoch_zero(units, tokenizer, 1, 2)
    assert epoch_zero(units, tokenizer, 1, 2) != sorted(epoch_zero(units, tokenizer, 1, 2))


def test_resume_from_a_position_continues_the_same_stream(numbered, tokenizer):
    units = shard_units(split_files(numbered, "train"))

    def loader(position=LanePosition()):
        return DialogueLoader(ShardStream(units, lane=0, lanes=2, seed=5, shuffle_rows=8), tokenizer,
                              batch_tokens=64, max_seq_len=32, position=position)

    stream = iter(loader())
    first = [next(stream) for _ in range(9)]
    rest = [next(stream)[0].input_ids.tolist() for _ in range(12)]  # crosses windows and epochs
    resumed = iter(loader(first[-1][1]))
    assert [next(resumed)[0].input_ids.tolist() for _ in range(12)] == rest


def test_eval_batches_split_the_first_dialogues_between_ranks(numbered, tokenizer):
    units = shard_units(split_files(numbered, "train"))
    seen = []
    for rank in range(2):
        batches, dropped = eval_batches(units, tokenizer, rank=rank, world=2, limit=20,
                                        batch_tokens=64, max_seq_len=32)
        seen.append(sorted(n for b in batches for n in dialogue_numbers(b, tokenizer)))
    assert seen == [list(range(0, 20, 2)), list(range(1, 20, 2))]


def test_dropped_rows_are_counted_by_reason(tmp_path, tokenizer):
    rows = numbered_rows(0, 3)
    rows[1]["turn_weights"] = [0.0]
    rows[2]["turn_texts"] = ["one turn only"]
    rows[2]["turn_weights"] = [0.0]
    write_shard(tmp_path / "train" / "part-00000.parquet", rows)
    loader = DialogueLoader(ShardStream(shard_units(split_files(tmp_path, "train")), lane=0, lanes=1, seed=0),
                            tokenizer, batch_tokens=64, max_seq_len=32)
    batch, _ = next(iter(loader.batches()))
    assert dialogue_numbers(batch, tokenizer) == [0]
    assert dict(loader.dropped) == {"bad_weights": 1, "one_turn": 1}


def test_missing_and_empty_shard_directories_are_clear_errors(tmp_path):
    with pytest.raises(RdialError, match=r"train does not exist; expected SHARDS/train/part-\*\.parquet"):
        split_files(tmp_path, "train")
    (tmp_path / "train").mkdir()
    with pytest.raises(RdialError, match="holds no part-"):
        split_files(tmp_path, "train")
    write_shard(tmp_path / "train" / "part-00000.parquet", [])
    with pytest.raises(RdialError, match="holds no dialogues"):
        shard_units(split_files(tmp_path, "train"))


def test_wrong_schema_names_file_and_column(tmp_path):
    path = tmp_path / "train" / "part-00000.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"turn_texts": [["a", "b"]]}), path)
    with pytest.raises(RdialError, match=r"part-00000.parquet: column turn_weights missing"):
        shard_units([path])
    pq.write_table(pa.table({"turn_texts": ["a b"], "turn_weights": [[0.0, 1.0]]}), path)
    with pytest.raises(RdialError, match=r"column turn_texts has type string; the SHARDS schema wants list<string>"):
        shard_units([path])
    path.write_bytes(b"not parquet at all")
    with pytest.raises(RdialError, match="part-00000.parquet: not a readable Parquet file"):
        shard_units([path])


def test_large_types_written_by_polars_are_accepted(tmp_path):
    path = tmp_path / "part-00000.parquet"
    table = pa.table({"turn_texts": pa.array([["a", "b"]], pa.large_list(pa.large_string())),
                      "turn_weights": pa.array([[0.0, 1.0]], pa.large_list(pa.float64()))})
    pq.write_table(table, path)
    assert [u.rows for u in shard_units([path])] == [1]


def test_worker_processes_build_the_same_stream(numbered, tokenizer):
    from rdial.train.loader import worker_pool

    units = shard_units(split_files(numbered, "train"))

    def first_batches(pool, position=LanePosition(0, 1, 1)):
        loader = DialogueLoader(ShardStream(units, lane=1, lanes=2, seed=4, shuffle_rows=6), tokenizer,
                                batch_tokens=64, max_seq_len=32, position=position, pool=pool)
        stream = iter(loader)
        return [next(stream) for _ in range(15)], loader

    pool = worker_pool(2)
    try:
        with_pool, loader = first_batches(pool)
    finally:
        pool.shutdown(cancel_futures=True)
    in_thread, _ = first_batches(None)
    assert [(b.input_ids.tolist(), b.labels.tolist(), p) for b, p in with_pool] == \
        [(b.input_ids.tolist(), b.labels.tolist(), p) for b, p in in_thread]
    assert loader.rows > 0
