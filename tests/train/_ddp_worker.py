"""Run under torchrun by test_distributed.py: record this rank's lane data, then train.

    python -m torch.distributed.run --standalone --nproc_per_node 2 _ddp_worker.py SHARDS OUT
"""

import json
import os
import sys
from pathlib import Path

from rdial.train.loader import ShardStream, shard_units, split_files
from rdial.train.trainer import TrainConfig, train


def main() -> None:
    shards, out = Path(sys.argv[1]), Path(sys.argv[2])
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    cfg = TrainConfig(shards=shards, out=out, model="tiny", max_steps=4, batch_tokens=256, max_seq_len=64,
                      lr=3e-3, warmup_steps=2, shuffle_rows=20, dropout=0.0, eval_every=0, eval_dialogues=20,
                      save_every=0, log_every=1, progress=False, grad_accum=1, device="cpu")
    # The rows this rank's lane reads in epoch 0, from the same stream the trainer builds.
    stream = ShardStream(shard_units(split_files(shards, "train")), lane=rank, lanes=world, seed=cfg.seed,
                         shuffle_rows=cfg.shuffle_rows)
    rows = [[unit.path.name, unit.row_group, row] for window in stream.windows(0)
            for unit, lo, hi in window for row in range(lo, hi)]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rows-rank{rank}.json").write_text(json.dumps(rows))
    summary = train(cfg)
    (out / f"summary-rank{rank}.json").write_text(json.dumps({"steps": summary.steps, "tokens": summary.tokens}))


if __name__ == "__main__":
    main()
