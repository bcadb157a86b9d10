"""Learning-rate schedules as multipliers of --lr: DialoGPT's noam, cosine, constant.

    python -c "from rdial.train.schedule import lr_factor as f; print([round(f('noam', s, 4, 100), 3) for s in (1, 4, 16)])"
    # [0.25, 1.0, 0.5]

noam   linear warmup to --lr at --warmup-steps, then --lr * sqrt(warmup / step): the shape of
       DialoGPT's `noam_decay` (Vaswani et al.), scaled so that its peak is --lr.
cosine linear warmup, then half a cosine from --lr down to 10% of it at --max-steps.
constant  linear warmup, then --lr.
"""

from __future__ import annotations

import math

SCHEDULES = ("noam", "cosine", "constant")
COSINE_FLOOR = 0.1


def lr_factor(schedule: str, step: int, warmup: int, max_steps: int) -> float:
    """Multiplier of the peak learning rate for optimizer step `step` (1-based)."""
    step = max(step, 1)
    if warmup and step < warmup:
        return step / warmup
    if schedule == "noam":
        return math.sqrt(max(warmup, 1) / step)
    if schedule == "cosine":
        progress = min(1.0, (step - warmup) / max(1, max_steps - warmup))
        return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


class LRSchedule:
    """Sets the optimizer's learning rate each step; its only state is the step count."""

    def __init__(self, optimizer, *, lr: float, schedule: str, warmup: int, max_steps: int):
        self.optimizer, self.lr = optimizer, lr
        self.schedule, self.warmup, self.max_steps = schedule, warmup, max_steps
        self.step_count = 0
        self.apply()

    def current(self) -> float:
        return self.lr * lr_factor(self.schedule, self.step_count + 1, self.warmup, self.max_steps)

    def apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.current()

    def step(self) -> None:
        self.step_count += 1
        self.apply()

    def state_dict(self) -> dict:
        return {"step_count": self.step_count}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.apply()
