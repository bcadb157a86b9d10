"""--dialogpt-keys on the real months, against DialoGPT's own reddit.py (its figures).

The expectations are what bench/dialogpt_keys_oracle.py printed after running DialoGPT's
reddit_extractor/src/reddit.py, unmodified (Python 3.11, nltk, flashtext), on the same files
(tests/build/dialogpt_keys_inputs.py), as its Makefile runs it; that script also compared the
lines one by one (identical multisets). Here rdial alone runs; the oracle is not needed.
"""

import hashlib
import importlib.util
import io
from pathlib import Path

import pytest

from rdial.build.stage import BuildConfig, run_build
from rdial.extract.stage import ExtractConfig, run_extract
from rdial.filter.export import export
from rdial.filter.stage import FilterConfig, run_filter

_spec = importlib.util.spec_from_file_location(  # shared with the oracle script (bench/)
    "dialogpt_keys_inputs", Path(__file__).with_name("dialogpt_keys_inputs.py"))
inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(inputs)
MONTHS, make_inputs = inputs.MONTHS, inputs.make_inputs

# reddit.py's output on these inputs (bench/dialogpt_keys_oracle.py)
TRAIN_SHA256 = "ac1acd08c5607145c6b5838d5488f454394cc04c1e5b9f617b457daeadebebbc"
TEST_SHA256 = "1266bab38ab30a44577010dfd464c082d71af99a83fe65e329dd419c387a0701"


def corpus_of(tmp_path, name):
    corpus = tmp_path / name
    dumps = sorted((tmp_path / "dumps").glob("R[CS]_*.zst"))
    run_extract(ExtractConfig(inputs=dumps, out=corpus, buckets=8, workers=1, progress=False))
    return corpus


def tsv(corpus) -> list[str]:
    out = io.BytesIO()
    export(corpus, fmt="dialogpt-tsv", split="train", out=out)
    return out.getvalue().decode("utf-8").splitlines()


def sha(lines):
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


@pytest.mark.real
def test_training_recipe_equals_dialogpt_extractor(real_data, tmp_path):
    counts = make_inputs(tmp_path, real_data)
    assert [counts[m]["digests"] for m in MONTHS] == [273, 922]
    toml = tmp_path / "oracle.toml"  # DialoGPT's Makefile passes its own (empty) word list
    toml.write_text('base = "dialogpt"\ndialogpt_keys = "keys"\n[lists]\nword_files = []\n')
    corpus = corpus_of(tmp_path, "train")
    run_build(BuildConfig(corpus=corpus, filter_config=toml, workers=1), progress=False)
    report = run_filter(FilterConfig(corpus=corpus, config=toml, workers=1, progress=False,
                                     split_fractions=(1.0, 0.0, 0.0)))
    lines = tsv(corpus)
    assert len(lines) == 51 and report.stats["chains_out"] == 51
    assert sha(lines) == TRAIN_SHA256
    assert sum(t.startswith("0.0 ") for line in lines
               for t in line.replace("\t", " EOS ").split(" EOS ")) == 33
    cov = report.stats["dialogpt_keys"]["months"]
    assert cov["2005-12"] == {"keep_keys": 659, "keep_absent": 5, "dep_keys": 963, "dep_absent": 7,
                              "bad_lines": 1, "discard_digests": 273, "instances": 6,
                              "weight0_turns_by_digest": 4}
    assert cov["2006-01"] == {"keep_keys": 2252, "keep_absent": 5, "dep_keys": 3312,
                              "dep_absent": 7, "bad_lines": 1, "discard_digests": 922,
                              "instances": 45, "weight0_turns_by_digest": 29}


@pytest.mark.real
def test_test_recipe_equals_dialogpt_extractor(real_data, tmp_path):
    make_inputs(tmp_path, real_data)
    corpus = corpus_of(tmp_path, "test")
    keys = tmp_path / "keys-test.gz"
    run_build(BuildConfig(corpus=corpus, preset="dialogpt-test", dialogpt_keys=keys, workers=1),
              progress=False)
    report = run_filter(FilterConfig(corpus=corpus, preset="dialogpt-test", dialogpt_keys=keys,
                                     workers=1, progress=False, split_fractions=(1.0, 0.0, 0.0)))
    lines = tsv(corpus)
    assert len(lines) == 36
    assert sha(lines) == TEST_SHA256
    assert not any(line.startswith(("1.0 ", "0.0 ")) for line in lines)  # no weights
    cov = report.stats["dialogpt_keys"]["months"]
    assert cov["all"]["keep_absent"] == 0 and cov["all"]["dep_absent"] == 0
    assert (cov["2005-12"]["instances"], cov["2006-01"]["instances"], cov["all"]["instances"]) == \
        (10, 26, 36)
