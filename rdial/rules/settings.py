"""The typed settings of a preset: every TOML key, its type and bounds, in one place.

    python -c "from rdial.rules.settings import RuleSettings, key_types; print(key_types()['min_turns'])"

`RuleSettings` holds what the rules read (thresholds, rule lists, list files); `BuildDefaults`
what a preset's `[build]` table sets for `rdial build` (flags given on the command line win).
Each field's annotation *is* the schema: `presets.py` checks every TOML value against it with
msgspec before anything runs, so `min_turns = 2.5` fails with

    --config f.toml: [chains] min_turns: expected int >= 1, got float 2.5

and no other code needs an isinstance check. Bounds that relate two keys (max_turns >= min_turns)
are checked after the merge (`check_relations`).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from rdial.config import to_jsonable
from rdial.errors import ConfigError
from rdial.ledger import combine_fingerprints

INT64_MAX = 2**63 - 1
DATA = "rdial.rules.data"


def Count(low: int) -> object:
    """An int from `low` up to int64 (polars compares it with Int64 columns)."""
    return Annotated[int, msgspec.Meta(ge=low, le=INT64_MAX)]


Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Fraction = Annotated[float, msgspec.Meta(gt=0, le=1)]
Names = list[str]


@dataclass(frozen=True, kw_only=True)
class BuildDefaults:
    """`[build]`: the chain-forming defaults a preset hands to `rdial build`."""

    targets: Literal["leaves", "all"] = "leaves"
    min_turns: Count(1) = 2
    max_turns: Count(0) = 0
    per_month: bool = False
    with_title: bool = False


@dataclass(kw_only=True)
class RuleSettings:
    preset: str = "rdial"
    description: str = ""
    normalize: Literal["dialogpt", "none"] = "dialogpt"   # gpt_norm_sentence, or spaces only
    output_text: Literal["normalized", "original"] = "normalized"  # what shards' turn_texts hold
    build: BuildDefaults = field(default_factory=BuildDefaults)
    # comment rules (rdial build, before chains are formed)
    comment_rules: Names = field(default_factory=list)
    min_comment_words: Count(0) = 2
    min_submission_comments: Count(0) = 2
    # chain rules (rdial filter)
    rules: Names = field(default_factory=list)
    min_turns: Count(1) = 2
    max_turns: Count(0) = 0              # 0: no limit; else keep the last max_turns turns
    max_turn_words: Count(0) = 0         # 0: no limit
    min_score: Int64 = 1
    max_word_chars: Count(1) = 30
    max_total_words: Count(1) = 200
    count_weight_tokens: bool = False
    url_scope: Literal["all", "target"] = "all"
    markup_chars: str = "[]"
    markup_scope: Literal["all", "target"] = "target"
    shouting_caps: Count(1) = 5
    repetition_run: Count(2) = 3
    bland_min_count: Count(0) = 1000
    bland_fraction: Fraction = 0.9
    # lists: files (builtin:NAME or paths) and extra entries
    word_files: Names = field(default_factory=lambda: ["builtin:offensive_words.txt"])
    words: Names = field(default_factory=list)
    subreddit_block_files: Names = field(default_factory=lambda: ["builtin:subreddits_block.txt"])
    subreddits_block: Names = field(default_factory=list)
    subreddit_allow_files: Names = field(default_factory=list)
    subreddits_allow: Names = field(default_factory=list)
    bot_author_files: Names = field(default_factory=lambda: ["builtin:bot_authors.txt"])
    bot_authors: Names = field(default_factory=list)
    common_word_files: Names = field(default_factory=lambda: ["builtin:common_words.txt"])
    # DialoGPT's released keys (rdial/build/dialogpt_keys.py): a keys-full.tar folder or a .gz
    dialogpt_keys: str = ""
    # the DialoGPT TSV line carries a weight per turn (its --leaves_only 1 --clean recipe);
    # off for its test recipe (--leaves_only 0): no weights in the line, nor in the counts
    tsv_weights: bool = True
    sources: list = field(default_factory=list)  # the TOML documents applied, in order

    # --- resolved lists (lowercased, in file order) -------------------------------------------
    def offensive_words(self) -> list[str]:
        return entries(self.word_files, self.words)

    def blocked_subreddits(self) -> set[str]:
        return set(entries(self.subreddit_block_files, self.subreddits_block))

    def allowed_subreddits(self) -> set[str]:
        return set(entries(self.subreddit_allow_files, self.subreddits_allow))

    def bots(self) -> set[str]:
        return set(entries(self.bot_author_files, self.bot_authors))

    def common_words(self) -> list[str]:
        return entries(self.common_word_files, [])

    def fingerprint(self) -> str:
        """Changes when a setting or the content of a list file it names changes: a blocklist
        edited in place must invalidate the chains and shards made with the old one."""
        parts = {"settings": json.dumps(to_jsonable(self), sort_keys=True, default=str)}
        for key in LIST_FILE_KEYS:
            for spec in getattr(self, key):
                parts[f"{key}:{spec}"] = "\n".join(read_list(spec))
        return combine_fingerprints(parts)

    def local_rules(self) -> list[str]:
        """Chain rules that judge one chain alone, in order (run per bucket)."""
        from rdial.rules.chain import CHAIN_RULES

        return [r for r in self.rules if not CHAIN_RULES[r].corpus_wide]


# Keys a TOML document may set, with their types (the schema), and where `--list-settings` and
# error messages place them. `rules`/`comment_rules` also take `enable`/`disable` in a table.
NOT_SETTABLE = ("preset", "build", "sources")
LIST_FILE_KEYS = ("word_files", "subreddit_block_files", "subreddit_allow_files",
                  "bot_author_files", "common_word_files")


def key_types() -> dict[str, object]:
    """TOML key -> the type msgspec checks it against (`[build]` keys: `build.KEY`)."""
    hints = typing.get_type_hints(RuleSettings, include_extras=True)
    types = {k: v for k, v in hints.items() if k not in NOT_SETTABLE}
    for k, v in typing.get_type_hints(BuildDefaults, include_extras=True).items():
        types[f"build.{k}"] = v
    return types


def type_name(tp) -> str:
    """A short human name for a schema type: `int >= 1`, `list of strings`, `"all" or "target"`."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *metas = typing.get_args(tp)
        bounds = []
        for m in metas:
            if m.ge is not None and m.ge != -INT64_MAX - 1:
                bounds.append(f">= {m.ge}")
            if m.gt is not None:
                bounds.append(f"> {m.gt}")
            if m.le is not None and m.le != INT64_MAX:
                bounds.append(f"<= {m.le}")
        return " ".join([type_name(base)] + bounds) + ("" if bounds else " (64-bit)")
    if origin is Literal:
        return " or ".join(json.dumps(a) for a in typing.get_args(tp))
    if origin is list:
        return "list of strings"
    return getattr(tp, "__name__", str(tp))


def check_value(key: str, value, where: str, name: str | None = None):
    """`value` converted to `key`'s type, or ConfigError "where name: expected T, got ..."
    (`name` defaults to the key; `enable`/`disable` are checked as their rule list)."""
    tp = key_types()[key]
    try:
        return msgspec.convert(value, tp, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = ""
        if " - at `$" in text:
            text, path = text.split(" - at `$", 1)
            at = path.rstrip("`")
        shown = value if not at else _item(value, at)
        got = f"{type(shown).__name__} {shown!r}" if not isinstance(shown, (list, dict)) \
            else type(shown).__name__
        name = name or key.split(".", 1)[-1]
        raise ConfigError(f"{where}{name}{at}: expected {type_name(tp)}, got {got} "
                          f"(see `rdial filter --list-settings`)") from None


def _item(value, path: str):
    """The element of `value` at msgspec's path suffix, e.g. "[0]" or "[1][0]"."""
    for part in path.strip("[]").split("]["):
        try:
            value = value[int(part)]
        except (ValueError, IndexError, KeyError, TypeError):
            break
    return value


def check_relations(s: RuleSettings, where: str) -> None:
    if s.max_turns and s.max_turns < s.min_turns:
        raise ConfigError(f"{where}max_turns: must be 0 or >= min_turns ({s.min_turns}), "
                          f"not {s.max_turns}")
    b = s.build
    if b.max_turns and b.max_turns < b.min_turns:
        raise ConfigError(f"{where}[build] max_turns: must be 0 or >= min_turns ({b.min_turns}), "
                          f"not {b.max_turns}")
    # read every list now, so a missing file fails before any work starts
    s.offensive_words(), s.blocked_subreddits(), s.allowed_subreddits(), s.bots(), s.common_words()


def read_list(spec: str) -> list[str]:
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        try:
            text = resources.files(DATA).joinpath(name).read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"--config: no builtin list {name!r} (rdial/rules/data/)") from None
    else:
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--config: cannot read list file {spec}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def entries(files: list, extra: list) -> list[str]:
    out = []
    for spec in files:
        out.extend(read_list(spec))
    out.extend(extra)
    return list(dict.fromkeys(e.strip().lower() for e in out if e.strip()))


FIELDS = {f.name: f for f in dataclasses.fields(RuleSettings)}
