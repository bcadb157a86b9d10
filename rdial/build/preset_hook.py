"""The filter stage's hook into `rdial build`: a preset's comment rules and its build defaults.

    rdial build corpus --preset dialogpt        # DialoGPT's comment rules, before leaves are found

DialoGPT drops some comments (too long, URLs, ...) *before* it decides which comments are
leaves, so its chains end where a dropped reply was. To reproduce that, build asks the filter
stage (rdial.filter) for two things, both optional until that stage exists:

  rdial.filter.presets.load_filter_settings(preset, filter_config) -> settings
      settings.build_defaults: dict of BuildConfig field -> value (e.g. max_turns=5,
      per_month=True); explicit CLI flags override them.
  rdial.filter.comment_rules.comment_rule_reasons(comments, submissions, settings) -> pl.Series
      one Utf8 value per comment row: the name of the first rule that drops it, or null.
      `comments` holds the bucket's deduplicated, otherwise usable comments (schema.COMMENTS
      columns); `submissions` the deduplicated submissions (schema.SUBMISSIONS) or None.

A comment with a reason is unusable, exactly like a [deleted] one, and each reason is counted in
the build stats under `unusable`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

from rdial.config import to_jsonable
from rdial.errors import ConfigError, RdialError


@dataclasses.dataclass(frozen=True)
class PresetSpec:
    """Which filter settings the build uses; picklable, so each worker loads them itself."""

    preset: str | None = None
    filter_config: Path | None = None

    @property
    def active(self) -> bool:
        return self.preset is not None or self.filter_config is not None

    @property
    def flag(self) -> str:
        return "--preset" if self.preset is not None else "--filter-config"


def load_settings(spec: PresetSpec) -> Any:
    """The filter settings of `spec`, loaded once per process (each worker: once per run)."""
    stamp = None
    if spec.filter_config is not None and Path(spec.filter_config).is_file():
        st = Path(spec.filter_config).stat()
        stamp = (st.st_mtime_ns, st.st_size)  # an edited TOML file is loaded again
    return _load_settings(spec, stamp)


@functools.lru_cache(maxsize=4)
def _load_settings(spec: PresetSpec, stamp) -> Any:
    try:
        from rdial.filter.presets import load_filter_settings
    except ImportError as exc:
        raise ConfigError(f"{spec.flag}: the filter stage (rdial.filter.presets."
                          f"load_filter_settings) is not available: {exc}") from exc
    return load_filter_settings(spec.preset, spec.filter_config)


load_settings.cache_clear = _load_settings.cache_clear  # type: ignore[attr-defined]


def build_defaults(settings: Any) -> dict:
    """The preset's defaults for BuildConfig fields ({} when it has none)."""
    return dict(getattr(settings, "build_defaults", None) or {})


def settings_fingerprint(spec: PresetSpec, settings: Any) -> str:
    """Changes when the preset, its TOML file or the resolved settings change (-> rebuild)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([spec.preset, str(spec.filter_config)]).encode())
    if spec.filter_config is not None and Path(spec.filter_config).is_file():
        h.update(Path(spec.filter_config).read_bytes())
    if hasattr(settings, "fingerprint"):  # FilterSettings: its values and its list files' content
        h.update(settings.fingerprint().encode())
    elif dataclasses.is_dataclass(settings):
        h.update(json.dumps(to_jsonable(settings), sort_keys=True, default=str).encode())
    return h.hexdigest()


class CommentRuleHook:
    """Callable `(comments, submissions) -> reasons` for build_chains, from a PresetSpec."""

    def __init__(self, spec: PresetSpec):
        self.spec = spec

    def __call__(self, comments: pl.DataFrame, submissions: pl.DataFrame | None) -> pl.Series:
        try:
            from rdial.filter.comment_rules import comment_rule_reasons
        except ImportError as exc:
            raise ConfigError(f"{self.spec.flag}: the filter stage (rdial.filter.comment_rules."
                              f"comment_rule_reasons) is not available: {exc}") from exc
        reasons = comment_rule_reasons(comments, submissions, load_settings(self.spec))
        if not isinstance(reasons, pl.Series) or len(reasons) != comments.height:
            raise RdialError(f"{self.spec.flag}: comment_rule_reasons returned "
                             f"{type(reasons).__name__} of length {len(reasons)} for "
                             f"{comments.height} comments (expected one reason or null per row)")
        return reasons.cast(pl.String)
