"""Data-parallel context from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

    python -m torch.distributed.run --nproc_per_node 2 -m rdial train --shards S --out RUN

One process: no process group, every collective is a no-op. Several: NCCL on GPUs, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from rdial.errors import ConfigError


@dataclass
class Distributed:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum `tensor` over ranks, in place; returns it."""
        if self.active:
            torch.distributed.all_reduce(tensor)
        return tensor

    def gather(self, obj) -> list:
        """Every rank's `obj`, in rank order (on every rank)."""
        if not self.active:
            return [obj]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()


def resolve_device(flag: str, local_rank: int) -> torch.device:
    if flag == "auto":
        flag = "cuda" if torch.cuda.is_available() else "cpu"
    if flag == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device: cuda requested but no GPU is visible")
        if local_rank >= torch.cuda.device_count():
            # NCCL cannot put two ranks on one GPU; say so instead of CUDA's "invalid device ordinal"
            raise ConfigError(f"--device: this is local rank {local_rank} but only {torch.cuda.device_count()} "
                              f"GPU(s) are visible; start at most that many processes per node "
                              f"(--nproc_per_node), or pass --device cpu")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def start(device_flag: str) -> Distributed:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_flag, local_rank)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank=rank, world=world, local_rank=local_rank, device=device)


def stop(dist: Distributed) -> None:
    if dist.active and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
