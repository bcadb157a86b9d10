"""Real Reddit text through the train loader: a whole r/funny thread (541 comments, praw)."""

import json

import pytest

from rdial.train.dialogue import IGNORE
from rdial.train.loader import DialogueLoader, ShardStream, shard_units, split_files
from tests.train.sample import write_shard

pytestmark = pytest.mark.real


def root_to_leaf_paths(comments: list[dict]) -> list[list[dict]]:
    by_id = {c["id"]: c for c in comments}
    parents = {c["parent_id"][3:] for c in comments if c["parent_id"].startswith("t1_")}
    paths = []
    for leaf in (c for c in comments if c["id"] not in parents):
        path, node = [leaf], leaf
        while node["parent_id"].startswith("t1_") and node["parent_id"][3:] in by_id:
            node = by_id[node["parent_id"][3:]]
            path.append(node)
        if len(path) >= 2:
            paths.append(path[::-1])
    return paths


def test_real_thread_round_trips_through_the_dialogue_format(real_data, tmp_path, tokenizer):
    lines = (real_data / "praw_thread" / "RC_thread_3hahrw.ndjson").read_text(encoding="utf-8").splitlines()
    comments = [json.loads(line) for line in lines]
    assert len(comments) == 541
    rows = [{"link_id": p[0]["link_id"], "subreddit": "funny", "turn_ids": [c["id"] for c in p],
             "turn_authors": [c["author"] for c in p], "turn_texts": [c["body"] for c in p],
             "turn_scores": [c["score"] for c in p], "turn_created": [int(c["created_utc"]) for c in p],
             "over_18": False, "turn_weights": [0.0] + [1.0] * (len(p) - 1)} for p in root_to_leaf_paths(comments)]
    write_shard(tmp_path / "train" / "part-00000.parquet", rows, rows_per_group=64)
    loader = DialogueLoader(ShardStream(shard_units(split_files(tmp_path, "train")), lane=0, lanes=1, seed=0),
                            tokenizer, batch_tokens=1 << 16, max_seq_len=1024)
    texts = {"<|endoftext|>".join(r["turn_texts"]) + "<|endoftext|>" for r in rows}
    seen = 0
    for batch, position in loader.batches():
        if position.epoch > 0:
            break
        for ids, labels in zip(batch.input_ids.tolist(), batch.labels.tolist()):
            n = ids.index(tokenizer.eos_id) + 1  # context turn: no loss
            length = max(i for i, x in enumerate(labels) if x != IGNORE) + 1  # through the last EOS
            assert labels[:n] == [IGNORE] * n
            assert labels[n:length] == ids[n:length]
            assert tokenizer.hf.decode(ids[:length], skip_special_tokens=False) in texts
            seen += 1
    assert len(rows) == 227  # root-to-leaf chains of at least two comments in this thread
    assert seen == 227 and not loader.dropped  # all fit in 1024 tokens


def test_real_thread_from_the_token_cache_gives_the_same_batches(real_data, tmp_path, tokenizer):
    """The r/funny thread's 227 chains, packed and unpacked: the token cache's batches are the
    on-the-fly path's, tensor for tensor (emoji, markdown, long comments: real BPE input)."""
    import torch

    from rdial.train.token_cache import ensure_cache

    lines = (real_data / "praw_thread" / "RC_thread_3hahrw.ndjson").read_text(encoding="utf-8").splitlines()
    comments = [json.loads(line) for line in lines]
    rows = [{"link_id": p[0]["link_id"], "subreddit": "funny", "turn_ids": [c["id"] for c in p],
             "turn_authors": [c["author"] for c in p], "turn_texts": [c["body"] for c in p],
             "turn_scores": [c["score"] for c in p], "turn_created": [int(c["created_utc"]) for c in p],
             "over_18": False, "turn_weights": [0.0] + [1.0] * (len(p) - 1)} for p in root_to_leaf_paths(comments)]
    shards = tmp_path / "shards"
    write_shard(shards / "train" / "part-00000.parquet", rows, rows_per_group=64)
    cache = ensure_cache(shards, tokenizer, progress=False, say=lambda m: None)
    assert cache.manifest["splits"]["train"]["rows"] == 227
    assert cache.manifest["splits"]["train"]["tokens"] == sum(
        len(ids) for ids in tokenizer.encode_turns([t for r in rows for t in r["turn_texts"]]))
    units = shard_units(split_files(shards, "train"))
    for pack_len in (0, 256):
        fly, cached = (DialogueLoader(ShardStream(units, lane=0, lanes=1, seed=0, shuffle_rows=100),
                                      tokenizer if not tokens else None, batch_tokens=1024, max_seq_len=128,
                                      pack_len=pack_len, tokens=tokens)
                       for tokens in ("", cache.split_dir("train")))
        n = 0
        for (a, p), (b, q) in zip(fly.batches(), cached.batches()):
            if p.epoch:
                break
            assert p == q and torch.equal(a.input_ids, b.input_ids) and torch.equal(a.labels, b.labels)
            n += 1
        assert n > 10 and fly.dropped == cached.dropped
