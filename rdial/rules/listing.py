"""The table behind `rdial filter --list-settings`: every TOML key, its type, its value per preset.

    rdial filter --list-settings
"""

from __future__ import annotations

import dataclasses
import json

from rdial.rules.chain import CHAIN_RULES
from rdial.rules.comment import COMMENT_RULES
from rdial.rules.presets import PRESETS, load_settings
from rdial.rules.settings import LIST_FILE_KEYS, RuleSettings, key_types, type_name

TOP = ("description", "normalize", "output_text", "dialogpt_keys", "tsv_weights")
COMMENTS = ("comment_rules", "min_comment_words", "min_submission_comments")
LISTS = LIST_FILE_KEYS + ("words", "subreddits_block", "subreddits_allow", "bot_authors")


def table_of(key: str) -> str:
    """The TOML table a key is written in by the presets (any table works but [build])."""
    if key.startswith("build."):
        return "[build]"
    if key in TOP:
        return "(top level)"
    if key in COMMENTS:
        return "[comments]"
    if key in LISTS:
        return "[lists]"
    return "[chains]"


def used_by(key: str) -> list[str]:
    return [r.name for r in list(COMMENT_RULES.values()) + list(CHAIN_RULES.values())
            if key in r.settings]


def _value(settings: RuleSettings, key: str):
    return getattr(settings.build, key[6:]) if key.startswith("build.") else getattr(settings, key)


def list_settings() -> str:
    presets = {name: load_settings(name) for name in PRESETS}
    lines = ["Every key a filter TOML (--config, --filter-config) may set; tables other than",
             "[build] are for readability only. [chains] and [comments] also take",
             "enable = [...] / disable = [...] to add or remove rules.", ""]
    groups: dict[str, list[str]] = {}
    for key in key_types():
        groups.setdefault(table_of(key), []).append(key)
    for table in ("(top level)", "[build]", "[comments]", "[chains]", "[lists]"):
        lines.append(table)
        for key in groups.get(table, []):
            rules = used_by(key)
            note = f"  (rules: {', '.join(rules)})" if rules else ""
            lines.append(f"  {key.split('.', 1)[-1]}: {type_name(key_types()[key])}{note}")
            values = [(n, _value(s, key)) for n, s in presets.items()]
            if len({json.dumps(v) for _, v in values}) == 1:
                lines.append(f"      every preset: {json.dumps(values[0][1])}")
            else:
                width = max(len(n) for n in PRESETS) + 1
                for name, value in values:
                    lines.append(f"      {name + ':':{width}} {json.dumps(value)}")
        lines.append("")
    lines.append("Rules (reason names):")
    for rule in COMMENT_RULES.values():
        lines.append(f"  {rule.name:22} comment  {rule.description}")
    for rule in CHAIN_RULES.values():
        kind = "corpus" if rule.corpus_wide else "chain"
        lines.append(f"  {rule.name:22} {kind:7}  {rule.description}")
    return "\n".join(lines)


assert {f.name for f in dataclasses.fields(RuleSettings)} - {"preset", "build", "sources"} \
    == set(TOP + COMMENTS + LISTS) | {k for k in key_types() if table_of(k) == "[chains]"}
