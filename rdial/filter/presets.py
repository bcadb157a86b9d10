"""Filter presets: named sets of rules and thresholds, read from TOML, overridable by the user.

    rdial filter corpus --preset paper --config my-filters.toml

A preset is a TOML file in rdial/filter/data/ (`dialogpt`, `paper`, `rdial`); one may name a
`base` preset whose values it then overrides. A user's `--config` TOML is applied last, with the
same keys; any threshold, list or rule can change there:

    base = "rdial"                       # optional; the preset to start from
    [chains]
    disable = ["bland"]                  # or `rules = [...]` for the full ordered list
    enable = ["shouting"]                # appended to the rule list
    max_total_words = 150
    [lists]
    word_files = ["my-blocklist.txt"]    # relative to this TOML file; replaces the default list
    words = ["extra phrase"]             # added to whatever the files hold
    subreddits_allow = ["AskReddit"]

Tables are for readability only: every key is a field of `FilterSettings` (`[build]` holds
BuildConfig defaults instead). An unknown key, rule or value is an error naming the file and key.
The build stage calls `load_filter_settings` and `comment_rules.comment_rule_reasons`, so comment
rules act before chains are formed; `rdial filter` applies the chain rules.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rdial.config import to_jsonable
from rdial.errors import ConfigError
from rdial.ledger import combine_fingerprints

PRESETS = ("dialogpt", "dialogpt-test", "paper", "rdial")
DEFAULT_PRESET = "rdial"

# Comment rules (run by `rdial build` through comment_rules.py), in DialoGPT's order.
COMMENT_RULES = {
    "deleted": "body is '[deleted]' (or missing)",
    "quote": "body quotes ('>' or '&gt;')",
    "no_submission": "the thread's submission is not in that month's RS data",
    "few_comments": "the thread's submission has fewer than min_submission_comments comments",
    "short_comment": "fewer than min_comment_words words",
}

# Chain rules (rules.py). A chain's reason is the first enabled rule, in the preset's order,
# that drops it; `duplicate` and `bland` need the whole corpus and always run after the others.
CHAIN_RULES = {
    "bad_subreddit": "subreddit in the block list",
    "subreddit_not_allowed": "an allow list is set and the subreddit is not on it",
    "nsfw": "the submission is over_18",
    "bot_author": "a turn is written by a bot account",
    "low_score": "target score below min_score (missing score = 0)",
    "long_target": "target longer than max_turn_words words (a longer ancestor cuts the context)",
    "too_few_turns": "fewer than min_turns turns left after cutting",
    "empty_target": "target empty after normalisation",
    "long_word": "a target token longer than max_word_chars characters",
    "too_long": "source and target together over max_total_words tokens",
    "url": "a URL in a turn (url_scope all) or in the target (url_scope target)",
    "markup": "a markup_chars character in a turn or in the target (markup_scope)",
    "shouting": "shouting_caps capitals in a row in a turn",
    "repetition": "repetition_run identical consecutive target tokens",
    "no_common_word": "target without any of the common words",
    "offensive_target": "target contains a blocked word (offensive turns always get weight 0.0)",
    "duplicate": "the same dialogue (all turn texts) appeared earlier in the corpus",
    "bland": "bland_fraction of the target's trigrams are seen over bland_min_count times",
}
GLOBAL_RULES = ("duplicate", "bland")

_DATA = "rdial.filter.data"


@dataclass(kw_only=True)
class FilterSettings:
    preset: str = DEFAULT_PRESET
    description: str = ""
    normalize: str = "dialogpt"          # "dialogpt" (gpt_norm_sentence) or "none"
    output_text: str = "normalized"      # shard turn_texts: "normalized" or "original"
    build_defaults: dict = field(default_factory=dict)
    # comment rules
    comment_rules: list = field(default_factory=list)
    min_comment_words: int = 2
    min_submission_comments: int = 2
    # chain rules
    rules: list = field(default_factory=list)
    min_turns: int = 2
    max_turns: int = 0                   # 0: no limit; else keep the last max_turns turns
    max_turn_words: int = 0              # 0: no limit
    min_score: int = 1
    max_word_chars: int = 30
    max_total_words: int = 200
    count_weight_tokens: bool = False
    url_scope: str = "all"
    markup_chars: str = "[]"
    markup_scope: str = "target"
    shouting_caps: int = 5
    repetition_run: int = 3
    bland_min_count: int = 1000
    bland_fraction: float = 0.9
    # lists: files (builtin names or paths) and extra entries
    word_files: list = field(default_factory=lambda: ["builtin:offensive_words.txt"])
    words: list = field(default_factory=list)
    subreddit_block_files: list = field(default_factory=lambda: ["builtin:subreddits_block.txt"])
    subreddits_block: list = field(default_factory=list)
    subreddit_allow_files: list = field(default_factory=list)
    subreddits_allow: list = field(default_factory=list)
    bot_author_files: list = field(default_factory=lambda: ["builtin:bot_authors.txt"])
    bot_authors: list = field(default_factory=list)
    common_word_files: list = field(default_factory=lambda: ["builtin:common_words.txt"])
    # DialoGPT's released keys (rdial/build/dialogpt_keys.py): a keys-full.tar folder or a .gz
    dialogpt_keys: str = ""
    # the DialoGPT TSV line carries a weight per turn (its --leaves_only 1 --clean recipe);
    # off for its test recipe (--leaves_only 0): no weights in the line, nor in the counts
    tsv_weights: bool = True
    sources: list = field(default_factory=list)  # the TOML files applied, in order

    # --- resolved lists (read once; lowercased) ----------------------------------------------
    def offensive_words(self) -> list[str]:
        return _entries(self.word_files, self.words)

    def blocked_subreddits(self) -> set[str]:
        return set(_entries(self.subreddit_block_files, self.subreddits_block))

    def allowed_subreddits(self) -> set[str]:
        return set(_entries(self.subreddit_allow_files, self.subreddits_allow))

    def bots(self) -> set[str]:
        return set(_entries(self.bot_author_files, self.bot_authors))

    def common_words(self) -> list[str]:
        return _entries(self.common_word_files, [])

    def fingerprint(self) -> str:
        """Changes when a setting or the content of a list file it names changes: a blocklist
        edited in place must invalidate the chains and shards made with the old one."""
        parts = {"settings": json.dumps(to_jsonable(self), sort_keys=True, default=str)}
        for key in _LIST_FILE_KEYS:
            for spec in getattr(self, key):
                parts[f"{key}:{spec}"] = "\n".join(_read_list(spec))
        return combine_fingerprints(parts)

    def local_rules(self) -> list[str]:
        """Rules that judge one chain alone, in order (run per bucket)."""
        return [r for r in self.rules if r not in GLOBAL_RULES]


def _read_list(spec: str) -> list[str]:
    if spec.startswith("builtin:"):
        text = resources.files(_DATA).joinpath(spec.split(":", 1)[1]).read_text(encoding="utf-8")
    else:
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--config: cannot read list file {spec}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _entries(files: list, extra: list) -> list[str]:
    out = []
    for spec in files:
        out.extend(_read_list(spec))
    out.extend(extra)
    return list(dict.fromkeys(e.strip().lower() for e in out if e.strip()))


_FIELDS = {f.name: f for f in dataclasses.fields(FilterSettings)}
_LIST_FILE_KEYS = ("word_files", "subreddit_block_files", "subreddit_allow_files",
                   "bot_author_files", "common_word_files")
_CHOICES = {"normalize": ("dialogpt", "none"), "output_text": ("normalized", "original"),
            "url_scope": ("all", "target"), "markup_scope": ("all", "target")}


def _preset_toml(name: str) -> tuple[dict, str]:
    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset {name!r} (choose one of {', '.join(PRESETS)})")
    text = resources.files(_DATA).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text), f"preset:{name}"


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config: {path}: not valid TOML: {exc}") from exc


def _apply(values: dict, doc: dict, source: str, base_dir: Path | None) -> None:
    """Merge one TOML document into `values` (a dict of FilterSettings fields)."""
    for key, value in doc.items():
        if key == "base":
            continue
        if key == "build":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [build] must be a table")
            values["build_defaults"] = {**values.get("build_defaults", {}), **value}
        elif isinstance(value, dict):
            _apply_table(values, value, source, base_dir, key)
        else:
            _set(values, key, value, source, base_dir)


def _apply_table(values: dict, table: dict, source: str, base_dir: Path | None, name: str) -> None:
    for key, value in table.items():
        if key in ("enable", "disable"):
            rules = list(values.get("rules", []))
            _check_rules(value, source, f"[{name}] {key}", CHAIN_RULES)
            values["rules"] = ([r for r in rules if r not in value] if key == "disable"
                               else rules + [r for r in value if r not in rules])
        elif isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}.{key}]: nested tables are not settings")
        else:
            _set(values, key, value, source, base_dir, where=f"[{name}] ")


def _set(values: dict, key: str, value, source: str, base_dir: Path | None, where: str = "") -> None:
    if key not in _FIELDS or key in ("preset", "build_defaults", "sources"):
        raise ConfigError(f"{source}: {where}{key}: unknown setting (see `rdial filter --help`)")
    default = getattr(FilterSettings(), key)
    if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, (int, float)) and not isinstance(value, (int, float))) or (
            isinstance(default, (str, list)) and not isinstance(value, type(default))):
        raise ConfigError(f"{source}: {where}{key}: expected {type(default).__name__}, "
                          f"got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{source}: {where}{key}: {value!r} is not one of {_CHOICES[key]}")
    if key == "rules":
        _check_rules(value, source, f"{where}rules", CHAIN_RULES)
    if key == "comment_rules":
        _check_rules(value, source, f"{where}comment_rules", COMMENT_RULES)
    if key in _LIST_FILE_KEYS and base_dir is not None:
        value = [v if v.startswith("builtin:") else str((base_dir / v).resolve()) for v in value]
    if key == "dialogpt_keys" and value and base_dir is not None:
        value = str((base_dir / value).resolve())
    values[key] = value


def _check_rules(names, source: str, where: str, known: dict) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{source}: {where}: unknown rule {unknown[0]!r} "
                          f"(known: {', '.join(known)})")


def load_filter_settings(preset: str | None, config_path: Path | None = None) -> FilterSettings:
    """The resolved settings of `preset` (default: the config's `base`, else "rdial") with the
    user's TOML applied on top. `settings.build_defaults` holds BuildConfig field -> value."""
    user = _read_toml(Path(config_path)) if config_path else {}
    if preset and user.get("base") and user["base"] != preset:
        raise ConfigError(f"--config: {config_path} has base = {user['base']!r} but --preset is "
                          f"{preset!r}; drop one of them")
    name = preset or user.get("base") or DEFAULT_PRESET
    chain, seen = [], set()
    while name:
        if name in seen:
            raise ConfigError(f"--preset: presets {sorted(seen)} name each other as base")
        seen.add(name)
        doc, source = _preset_toml(name)
        chain.append((doc, source))
        name = doc.get("base")
    values: dict = {}
    for doc, source in reversed(chain):
        _apply(values, doc, source, None)
    sources = [s for _, s in reversed(chain)]
    if config_path:
        _apply(values, user, f"--config {config_path}", Path(config_path).resolve().parent)
        sources.append(str(config_path))
    settings = FilterSettings(preset=chain[0][1].split(":", 1)[1], sources=sources, **values)
    validate(settings)
    return settings


def validate(s: FilterSettings) -> None:
    src = s.sources[-1] if s.sources else "settings"
    src = src if src.startswith("preset:") else f"--config {src}"
    checks = [
        (s.min_turns >= 1, "min_turns", "must be at least 1"),
        (s.max_turns == 0 or s.max_turns >= s.min_turns, "max_turns", "must be 0 or >= min_turns"),
        (s.max_turn_words >= 0, "max_turn_words", "must be >= 0 (0: no limit)"),
        (s.max_word_chars >= 1, "max_word_chars", "must be at least 1"),
        (s.max_total_words >= 1, "max_total_words", "must be at least 1"),
        (s.shouting_caps >= 1, "shouting_caps", "must be at least 1"),
        (s.repetition_run >= 2, "repetition_run", "must be at least 2"),
        (0 < s.bland_fraction <= 1, "bland_fraction", "must be in (0, 1]"),
        (s.bland_min_count >= 0, "bland_min_count", "must be >= 0"),
        (s.min_comment_words >= 0, "min_comment_words", "must be >= 0"),
    ]
    for ok, key, message in checks:
        if not ok:
            raise ConfigError(f"{src}: {key}: {message}")
    # read every list now, so a missing file fails before any work starts
    s.offensive_words(), s.blocked_subreddits(), s.allowed_subreddits(), s.bots(), s.common_words()
