"""The corpus' preset record: which preset formed its chains, kept in corpus.json.

    python -c "from rdial.corpus import Corpus; print(Corpus.open('corpus').metadata()['preset'])"
    # {"name": "rdial", "config": null, "comment_rules": ["deleted", "quote", "short_comment"],
    #  "comment_settings": {"min_comment_words": 2}, "build": {"targets": "leaves", ...}}

Comment rules act before chains are formed (a dropped comment ends or splits its chain), so
they are a property of the chains, not of a filter run: `rdial build` records them here, and
`rdial filter` compares the rules its own preset names with this record before it judges
anything. The record is one top-level entry of corpus.json ("preset"); other entries that
describe how the corpus was formed (e.g. "keys") sit beside it and are left alone.
"""

from __future__ import annotations

from pathlib import Path

from rdial.corpus import Corpus
from rdial.errors import ConfigError, RdialError
from rdial.rules.comment import comment_signature
from rdial.rules.settings import RuleSettings

RECORD = "preset"


def preset_record(settings: RuleSettings, config: Path | None, build: dict) -> dict:
    return {"name": settings.preset, "config": str(config) if config else None,
            **comment_signature(settings), "build": build}


def read_record(corpus: Corpus) -> dict | None:
    return corpus.metadata().get(RECORD)


def write_record(corpus: Corpus, record: dict) -> None:
    corpus.write_metadata({RECORD: record})


def recorded_preset(corpus: Corpus) -> str | None:
    record = read_record(corpus)
    return record.get("name") if record else None


def _rules(names: list[str]) -> str:
    return ", ".join(names) if names else "no comment rule"


def check_build(corpus: Corpus, name: str, flag: str, force: bool) -> None:
    """A corpus keeps its preset: building with another one needs --force (every chain is
    rebuilt then, as the settings changed)."""
    record = read_record(corpus)
    if record and record.get("name") != name and not force:
        raise ConfigError(f"{flag}: {corpus.root} was built with preset {record.get('name')}; "
                          f"a corpus keeps its preset: drop {flag}, or pass --force to rebuild "
                          f"every chain with {name}")


def check_filter(corpus: Corpus, settings: RuleSettings, config: Path | None) -> dict:
    """The chains must have been formed with the comment rules `settings` name, else stop and
    say which command forms them. Another preset with the same comment rules (paper on chains
    built with rdial) judges them exactly as its own build would: allowed. -> the record."""
    record = read_record(corpus)
    rebuild = f"rdial build {corpus.root} --preset {settings.preset}" + \
        (f" --filter-config {config}" if config else "") + " --force"
    if record is None:
        raise RdialError(f"{corpus.chains_dir}: no preset record in {corpus.root}/corpus.json "
                         f"(chains built before rdial recorded one, or not by `rdial build`); "
                         f"run `{rebuild}`")
    wanted = comment_signature(settings)
    built_config = record.get("config")
    via = f" and --filter-config {built_config}" if built_config else ""
    hint = (f", or pass --config {built_config} as the build did"
            if built_config and config is None else "")
    built = {k: record.get(k) for k in wanted}
    if built != wanted:
        settings_note = "" if built["comment_rules"] != wanted["comment_rules"] else \
            f" with {built['comment_settings']} (wanted {wanted['comment_settings']})"
        raise RdialError(f"preset {settings.preset} drops comments by "
                         f"{_rules(wanted['comment_rules'])} before chains are formed, but "
                         f"{corpus.chains_dir} was built with preset {record.get('name')} "
                         f"({_rules(built['comment_rules'] or [])}{settings_note}"
                         f"{via}); run `{rebuild}` first{hint}")
    return record
