"""How `rdial build` uses DialoGPT's released keys (dialogpt_keys.py): three calls from stage.py.

    rdial build corpus --preset dialogpt --dialogpt-keys keys-full/

  prepare(corpus, cfg, settings)   before the tasks: resolve the path (flag, else the preset
                                   TOML's `dialogpt_keys`), index the corpus's months, record
                                   it (CORPUS/keys/dialogpt/manifest.json; config/build.json)
  matcher(index, bucket)           in a task: nodes -> KeyMatch, from that bucket's keys only
  add_coverage(totals, index, ..)  after: per-month coverage into stats/build.json
"""

from __future__ import annotations

import functools
from pathlib import Path

from rdial.build.dialogpt_keys import (DIALOGPT_PRESETS, KeyIndex, KeySource, corpus_months,
                                       coverage, drop_index, match_keys, prepare_index)
from rdial.errors import ConfigError


def keys_path(cfg, settings) -> Path | None:
    if cfg.dialogpt_keys is not None:
        return Path(cfg.dialogpt_keys)
    configured = getattr(settings, "dialogpt_keys", "") if settings is not None else ""
    return Path(configured) if configured else None


def prepare(corpus, cfg, settings, log=None) -> KeyIndex | None:
    path = keys_path(cfg, settings)
    if path is None:
        drop_index(corpus.root)
        return None
    if settings is None or getattr(settings, "preset", None) not in DIALOGPT_PRESETS:
        raise ConfigError("--dialogpt-keys: needs a DialoGPT preset (--preset dialogpt or "
                          "dialogpt-test): the keys select DialoGPT's instances")
    path = path.resolve()
    cfg.dialogpt_keys = path  # recorded in config/build.json with the rest of the settings
    return prepare_index(corpus.root, KeySource(path), corpus.buckets, corpus_months(corpus.root),
                         log=log)


def matcher(index: KeyIndex | None, bucket: int):
    if index is None:
        return None
    return functools.partial(match_keys, keys=index.bucket_keys(bucket), single=index.single)


def add_coverage(totals: dict, index: KeyIndex | None, buckets: list[int]) -> None:
    """Replace the per-bucket key counts by the per-month coverage (stats/build.json)."""
    per_month = totals.pop("dialogpt_keys", {})
    if index is not None:
        totals["dialogpt_keys"] = coverage(index, per_month, set(buckets))
