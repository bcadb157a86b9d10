import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rdial.config import add_config_arguments, arg, config_from_args, require, save_config
from rdial.errors import ConfigError


@dataclass(kw_only=True)
class DemoConfig:
    corpus: Path = field(metadata=arg("corpus directory", positional=True))
    min_turns: int = field(default=2, metadata=arg("shortest chain kept"))
    max_turns: int | None = field(default=None, metadata=arg("keep only the last N turns"))
    targets: str = field(default="leaves", metadata=arg("which comments end a chain",
                                                        choices=["leaves", "all"]))
    with_title: bool = field(default=False, metadata=arg("submission title as first turn"))
    months: list[str] = field(default_factory=list, metadata=arg("months to use"))
    internal: int = 7  # no metadata: not a flag

    def __post_init__(self):
        require(self.min_turns >= 1, "--min-turns", "must be at least 1")


def parse(argv):
    p = argparse.ArgumentParser()
    add_config_arguments(p, DemoConfig)
    return config_from_args(DemoConfig, p.parse_args(argv))


def test_flags_map_onto_fields():
    cfg = parse(["c", "--min-turns", "3", "--max-turns", "5", "--targets", "all", "--with-title",
                 "--months", "2005-12", "2006-01"])
    assert cfg == DemoConfig(corpus=Path("c"), min_turns=3, max_turns=5, targets="all",
                             with_title=True, months=["2005-12", "2006-01"])


def test_defaults_and_no_flag():
    cfg = parse(["c", "--no-with-title"])
    assert (cfg.min_turns, cfg.max_turns, cfg.targets, cfg.with_title, cfg.months, cfg.internal) == \
        (2, None, "leaves", False, [], 7)


def test_validation_names_the_flag():
    with pytest.raises(ConfigError, match=r"^--min-turns: must be at least 1$"):
        parse(["c", "--min-turns", "0"])


def test_choices_rejected_by_argparse():
    with pytest.raises(SystemExit):
        parse(["c", "--targets", "roots"])


def test_save_config_writes_resolved_json(tmp_path):
    save_config(DemoConfig(corpus=Path("c"), max_turns=4), tmp_path / "config" / "x.json")
    assert json.loads((tmp_path / "config" / "x.json").read_text()) == {
        "corpus": "c", "internal": 7, "max_turns": 4, "min_turns": 2, "months": [],
        "targets": "leaves", "with_title": False}
