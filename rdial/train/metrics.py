"""Run metrics: JSON lines always (RUN_DIR/metrics.jsonl), TensorBoard when it is installed.

    tail -f RUN/metrics.jsonl
    # {"step": 100, "split": "train", "loss": 4.81, "lr": 1e-4, "tokens_per_s": 51234.0, ...}
    # {"step": 500, "split": "valid", "loss": 4.12, "ppl": 61.6}

A resumed run first drops the records of steps after its checkpoint (a killed run may have
logged them), so the file reads as one uninterrupted run. `plot()` draws the train loss and the
valid perplexity as RUN/metrics.png (rdial.train.plot; no plotting library needed).
"""

from __future__ import annotations

import json
from pathlib import Path

from rdial.publish import atomic_write_text


class MetricsLog:
    def __init__(self, run_dir: Path, *, start_step: int, tensorboard: bool = True,
                 drop_final_evals: bool = False):
        self.path = Path(run_dir) / "metrics.jsonl"
        self._truncate_after(start_step, drop_final_evals)
        self.file = open(self.path, "a", encoding="utf-8")
        self.board = _tensorboard(Path(run_dir) / "tensorboard") if tensorboard else None

    def _truncate_after(self, step: int, drop_final_evals: bool) -> None:
        """Keep records up to `step`; with `drop_final_evals`, not the valid/test rows at `step`
        (a run killed during its final evaluation writes them again)."""
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                final_eval = record.get("step") == step and record.get("split") in ("valid", "test")
                if record.get("step", 0) <= step and not (drop_final_evals and final_eval):
                    keep.append(line)
            except ValueError:
                continue  # a line cut by a kill
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record, sort_keys=True) + "\n")
        self.file.flush()
        if self.board is not None:
            split = record.get("split", "train")
            for key, value in record.items():
                if key not in ("step", "split") and isinstance(value, (int, float)):
                    self.board.add_scalar(f"{split}/{key}", value, record["step"])

    def plot(self) -> Path | None:
        """RUN/metrics.png from the records so far (None when there is nothing to draw yet)."""
        from rdial.train.plot import plot_metrics

        self.file.flush()
        return plot_metrics(self.path, self.path.with_suffix(".png"))

    def close(self) -> None:
        self.file.close()
        if self.board is not None:
            self.board.close()


def _tensorboard(directory: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(directory))
