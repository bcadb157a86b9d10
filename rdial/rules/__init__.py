"""The rules of rdial's presets, shared by `rdial build` (comment rules) and `rdial filter`.

    rdial filter --list-settings        # every TOML key, its type, and its value per preset

  settings.py  RuleSettings and BuildDefaults: every TOML key with its type (the schema)
  presets.py   the presets (data/*.toml) and user TOML files -> RuleSettings, type-checked
  comment.py   comment rules (one CommentRule each), run where chains are formed
  chain.py     chain rules (one ChainRule each: name, polars expression, reference function)
  normalize.py DialoGPT's text normalisation, per string and on polars columns
  record.py    the preset a corpus was built with (corpus.json "preset"), checked by filter
  listing.py   the table behind `--list-settings`
Nothing here imports a stage: build and filter both import this package.
"""

from rdial.rules.chain import CHAIN_RULES, CORPUS_WIDE, ChainRule, ChainRules, ReferenceRules
from rdial.rules.comment import COMMENT_RULES, CommentRule, comment_rule_reasons
from rdial.rules.presets import DEFAULT_PRESET, PRESETS, load_settings
from rdial.rules.settings import BuildDefaults, RuleSettings

__all__ = ["CHAIN_RULES", "COMMENT_RULES", "CORPUS_WIDE", "DEFAULT_PRESET", "PRESETS",
           "BuildDefaults", "ChainRule", "ChainRules", "CommentRule", "ReferenceRules",
           "RuleSettings", "comment_rule_reasons", "load_settings"]
