"""Presets: named sets of rules and thresholds, read from TOML, overridable by the user.

    rdial filter --list-settings             # every key, its type, and its value in each preset

A preset is a TOML file in rdial/rules/data/ (`dialogpt`, `paper`, `rdial`, `raw`); one may
name a `base` preset whose values it then overrides. A user's `--config` TOML is applied last,
with the same keys:

    base = "rdial"                       # optional; the preset to start from
    [chains]
    disable = ["bland"]                  # or `rules = [...]` for the full ordered list
    enable = ["shouting"]                # appended to the rule list
    max_total_words = 150
    [comments]
    disable = ["short_comment"]          # the comment rules take enable/disable too
    [lists]
    word_files = ["my-blocklist.txt"]    # relative to this TOML file; replaces the default list
    words = ["extra phrase"]             # added to whatever the files hold
    [build]
    max_turns = 7                        # a BuildDefaults field: `rdial build`'s default

Outside `[build]` the tables are for readability only: every key is a field of `RuleSettings`
(rdial/rules/settings.py), checked against its type on load. An unknown key, rule or value, or a
value of the wrong type, is one line naming the file, the key and the type expected.
"""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

from rdial.errors import ConfigError
from rdial.rules.settings import (DATA, FIELDS, LIST_FILE_KEYS, NOT_SETTABLE, BuildDefaults,
                                  RuleSettings, check_relations, check_value)

PRESETS = ("dialogpt", "dialogpt-test", "paper", "rdial", "raw")
DEFAULT_PRESET = "rdial"
RULE_LISTS = {"chains": "rules", "comments": "comment_rules"}  # where enable/disable apply


def _preset_toml(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset {name!r} (choose one of {', '.join(PRESETS)})")
    text = resources.files(DATA).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config: {path}: not valid TOML: {exc}") from exc


class _Merge:
    """Applies TOML documents, in order, onto a dict of RuleSettings fields."""

    def __init__(self):
        self.values: dict = {}
        self.build: dict = {}

    def apply(self, doc: dict, source: str, base_dir: Path | None) -> None:
        for key, value in doc.items():
            if key == "base":
                continue  # resolved by load_settings / preset_chain
            if key == "build":
                if not isinstance(value, dict):
                    raise ConfigError(f"{source}: build: expected a [build] table")
                for k, v in value.items():
                    if f"build.{k}" not in _BUILD_KEYS:
                        raise ConfigError(f"{source}: [build] {k}: unknown build setting (one "
                                          f"of {', '.join(f.name for f in dataclasses.fields(BuildDefaults))})")
                    self.build[k] = check_value(f"build.{k}", v, f"{source}: [build] ")
            elif isinstance(value, dict):
                self.table(key, value, source, base_dir)
            else:
                self.set(key, value, source, base_dir, "")

    def table(self, name: str, table: dict, source: str, base_dir: Path | None) -> None:
        for key, value in table.items():
            where = f"[{name}] "
            if key in ("enable", "disable"):
                target = RULE_LISTS.get(name)
                if target is None:
                    raise ConfigError(f"{source}: {where}{key}: enable/disable belong in "
                                      f"[chains] or [comments]")
                names = check_value(target, value, f"{source}: {where}", name=key)
                check_rule_names(target, names, f"{source}: {where}{key}")
                rules = list(self.values.get(target, []))
                self.values[target] = ([r for r in rules if r not in names] if key == "disable"
                                       else rules + [r for r in names if r not in rules])
            elif isinstance(value, dict):
                raise ConfigError(f"{source}: [{name}.{key}]: nested tables are not settings")
            else:
                self.set(key, value, source, base_dir, where)

    def set(self, key: str, value, source: str, base_dir: Path | None, where: str) -> None:
        if key not in FIELDS or key in NOT_SETTABLE:
            raise ConfigError(f"{source}: {where}{key}: unknown setting "
                              f"(see `rdial filter --list-settings`)")
        value = check_value(key, value, f"{source}: {where}")
        if key in RULE_LISTS.values():
            check_rule_names(key, value, f"{source}: {where}{key}")
        if key in LIST_FILE_KEYS and base_dir is not None:
            value = [v if v.startswith("builtin:") else str((base_dir / v).resolve()) for v in value]
        if key == "dialogpt_keys" and value and base_dir is not None:
            value = str((base_dir / value).resolve())
        self.values[key] = value


_BUILD_KEYS = {f"build.{f.name}" for f in dataclasses.fields(BuildDefaults)}


def check_rule_names(key: str, names: list[str], where: str) -> None:
    from rdial.rules.chain import CHAIN_RULES
    from rdial.rules.comment import COMMENT_RULES

    known = CHAIN_RULES if key == "rules" else COMMENT_RULES
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{where}: unknown rule {unknown[0]!r} (known: {', '.join(known)})")


def preset_chain(name: str) -> list[tuple[str, dict]]:
    """[(source, document)] from the root base preset to `name`."""
    chain, seen = [], set()
    while name:
        if name in seen:
            raise ConfigError(f"--preset: presets {sorted(seen)} name each other as base")
        seen.add(name)
        doc = _preset_toml(name)
        chain.append((f"preset:{name}", doc))
        name = doc.get("base")
    return chain[::-1]


def load_settings(preset: str | None, config_path: Path | None = None, *,
                  fallback: str | None = None) -> RuleSettings:
    """The resolved settings of `preset` (else the config's `base`, else `fallback`, else
    DEFAULT_PRESET) with the user's TOML applied on top."""
    user = read_toml(Path(config_path)) if config_path else {}
    base = user.get("base")
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"--config {config_path}: base: expected a preset name (string), "
                          f"got {type(base).__name__} {base!r}")
    if preset and base and base != preset:
        raise ConfigError(f"--config: {config_path} has base = {base!r} but --preset is "
                          f"{preset!r}; drop one of them")
    name = preset or base or fallback or DEFAULT_PRESET
    merge = _Merge()
    chain = preset_chain(name)
    for source, doc in chain:
        merge.apply(doc, source, None)
    sources = [source for source, _ in chain]
    where = ""
    if config_path:
        where = f"--config {config_path}: "
        merge.apply(user, f"--config {config_path}", Path(config_path).resolve().parent)
        sources.append(str(config_path))
    settings = RuleSettings(preset=name, sources=sources, build=BuildDefaults(**merge.build),
                            **merge.values)
    check_relations(settings, where or f"preset:{name}: ")
    return settings
