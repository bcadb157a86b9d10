"""One set of decoding flags: `rdial generate` and `rdial eval` parse them with the same defaults."""

import argparse
import dataclasses

import pytest

from rdial.errors import ConfigError
from rdial.eval import cli as eval_cli
from rdial.train import generate_cli
from rdial.train.decoding import DecodeSettings, MmiSettings

DECODING = [f.name for f in dataclasses.fields(DecodeSettings)]


def parsed(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_generate_and_eval_share_every_decoding_default():
    gen = parsed(generate_cli, ["run", "hi"])
    ev = parsed(eval_cli, ["run", "--refs", "refs.tsv"])
    assert DECODING == ["max_new_tokens", "beams", "length_penalty", "no_repeat_ngram", "repetition_penalty",
                        "sample", "top_k", "top_p", "temperature", "n_best", "seed"]
    for name in DECODING:
        if name != "n_best":   # eval scores one reply per context: it has no --n-best
            assert getattr(gen, name) == getattr(ev, name) == getattr(DecodeSettings(), name), name
    assert not hasattr(ev, "n_best")
    assert (gen.top_p, gen.top_k, gen.beams) == (1.0, 50, 1)
    for name in ("mmi", "candidates", "mmi_score", "mmi_source"):
        assert getattr(gen, name) == getattr(ev, name) == getattr(MmiSettings(), name), name
    assert (gen.mmi, gen.candidates, gen.mmi_score, gen.mmi_source) == (None, 16, "sum", "last")


def test_decode_settings_of_a_command_config_carry_its_flags():
    cfg = generate_cli.config_from_args(generate_cli.GenerateConfig,
                                        parsed(generate_cli, ["run", "hi", "--sample", "--top-p", "0.8", "--seed", "7"]))
    assert cfg.decode_settings() == DecodeSettings(sample=True, top_p=0.8, seed=7)
    ev = eval_cli.config_from_args(eval_cli.EvalConfig, parsed(eval_cli, ["run", "--refs", "r.tsv", "--top-k", "5"]))
    assert ev.decode_settings(beams=5) == DecodeSettings(top_k=5, beams=5)


@pytest.mark.parametrize("argv, flag", [(["--top-p", "0"], "--top-p"), (["--beams", "0"], "--beams"),
                                        (["--max-new-tokens", "0"], "--max-new-tokens"),
                                        (["--candidates", "0"], "--candidates")])
def test_a_bad_decoding_flag_is_named_by_both_commands(argv, flag):
    for module, cls, head in ((generate_cli, generate_cli.GenerateConfig, ["run", "hi"]),
                              (eval_cli, eval_cli.EvalConfig, ["run", "--refs", "r.tsv"])):
        with pytest.raises(ConfigError, match=flag):
            module.config_from_args(cls, parsed(module, head + argv))
