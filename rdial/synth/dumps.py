"""Write a SynthConfig's months as dump files, or hand their records to a test in memory.

    from rdial.synth import SynthConfig, generate_dumps
    manifest = generate_dumps(SynthConfig(out=tmp, months=["2005-12", "2006-01"], comments=2000))

Per month, in the order Pushshift published them: `RC_<month>.<ext>` (comments, exactly
`comments` lines) then `RS_<month>.<ext>` (submissions). Each file is written under a temporary
name and renamed when complete; `manifest.json` (with `manifest=True`) comes last. A run
killed at any point leaves only `.tmp-*` files, removed by the next run, which then writes the
same bytes as an uninterrupted one.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

import orjson

from rdial.config import to_jsonable
from rdial.publish import explain_os_error, sweep_temporaries
from rdial.synth.config import SynthConfig
from rdial.synth.generator import PLANTED_KINDS, SynthGenerator, structural_ids
from rdial.synth.emitter import CHUNK
from rdial.synth.manifest import Manifest
from rdial.synth.pool import ChunkPool
from rdial.synth.writers import dump_name, open_dump_writer

PARALLEL_MIN_LINES = 4 * CHUNK   # smaller months: worker start-up would cost more than it saves

# (file name, kind "RC"/"RS", month, chunks of lines)
DumpStream = tuple[str, str, str, Iterator[list[bytes]]]


def iter_dumps(cfg: SynthConfig, manifest: Manifest, pool: ChunkPool | None = None
               ) -> Iterator[DumpStream]:
    """Yield every file's lines in chunks; `manifest` is complete once the iterator is exhausted.

    With a `pool`, months of at least PARALLEL_MIN_LINES RC lines are made in its workers.
    """
    gen = SynthGenerator(cfg)
    manifest.config = to_jsonable(cfg)
    for index, month in enumerate(cfg.months):
        plan = gen.plan(index)
        planted = {k: [] for k in PLANTED_KINDS}
        rc = dump_name("RC", month, cfg.format)
        use_pool = pool if pool and cfg.comments >= PARALLEL_MIN_LINES else None
        yield rc, "RC", month, gen.comment_lines(plan, planted, pool=use_pool)
        rs = dump_name("RS", month, cfg.format)
        yield rs, "RS", month, gen.submission_lines(plan, planted)
        structural_ids(plan, planted)
        gen.finish(plan)
        _record_month(manifest, plan, planted, gen)


def _record_month(manifest: Manifest, plan, planted: dict, gen: SynthGenerator) -> None:
    written_threads = int((plan.thread_size > 0).sum())
    manifest.months[plan.month] = {
        "counts": {k: len(v) for k, v in planted.items()},
        "ids": planted,
        "stats": {
            "era": plan.era,
            "threads": int(len(plan.thread_idx)),
            "threads_with_comments": written_threads,
            "comment_nodes": int(len(plan.parent)),
            "unique_comments_written": int(plan.written.sum()),
            "max_depth": int(plan.depth.max()) if len(plan.depth) else 0,
            "max_thread_size": int(plan.thread_size.max()) if len(plan.thread_size) else 0,
        },
    }


def generate_dumps(cfg: SynthConfig, on_lines: Callable[[int], None] | None = None) -> Manifest:
    """Write all dumps of `cfg` into `cfg.out`; returns the Manifest (also saved if asked).

    `on_lines(n)` is called after every chunk of n RC lines (progress).
    """
    manifest = Manifest()
    try:
        cfg.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain_os_error(exc, cfg.out) from exc
    sweep_temporaries(cfg.out)              # what a killed run left: half-written dumps
    workers = cfg.workers or os.cpu_count() or 1
    with ChunkPool(workers, scratch=cfg.out) as pool:
        for name, kind, month, chunks in iter_dumps(cfg, manifest, pool if workers > 1 else None):
            with open_dump_writer(cfg.out / name, cfg.format, cfg.level) as writer:
                for chunk in chunks:
                    writer.write_lines(chunk)
                    if on_lines and kind == "RC":
                        on_lines(len(chunk))
            manifest.files[name] = {"kind": kind, "month": month, "lines": writer.lines,
                                    "uncompressed_bytes": writer.raw_bytes}
    if cfg.manifest:
        manifest.save(cfg.out / "manifest.json")
    return manifest


def synth_lines(cfg: SynthConfig) -> tuple[dict[str, list[bytes]], Manifest]:
    """Every file's lines (without "\\n") in memory, keyed by file name; nothing is written."""
    manifest = Manifest()
    out = {}
    for name, kind, month, chunks in iter_dumps(cfg, manifest):
        out[name] = [line for chunk in chunks for line in chunk]
        manifest.files[name] = {"kind": kind, "month": month, "lines": len(out[name])}
    return out, manifest


def synth_comments(n: int = 200, *, month: str = "2005-12", seed: int = 0, era: str = "auto",
                   **rates) -> list[dict]:
    """`n` comment records of one month as parsed dicts (the RC file's lines, in order).

    `rates` are SynthConfig fields (`deleted_rate=0.0`, `duplicate_rate=0.1`, ...).
    """
    cfg = SynthConfig(out="/nonexistent", months=[month], comments=n, seed=seed, era=era,
                      **rates)
    lines, _ = synth_lines(cfg)
    return [orjson.loads(line) for line in lines[dump_name("RC", month, "zst")]]
