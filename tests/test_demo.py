"""The one end-to-end round trip: synth -> extract -> build -> filter -> train -> reply, then a
rerun that reuses every finished stage and ends with byte-identical shards."""

import hashlib
import json
from pathlib import Path

from rdial.cli import main
from rdial.demo import DemoConfig, run_demo


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.parquet"))}


def test_demo_round_trip_and_rerun(tmp_path, capsys):
    out = tmp_path / "demo"
    assert run_demo(DemoConfig(out=out, comments=1000, steps=2, workers=1)) == 0

    assert sorted(p.name for p in (out / "dumps").iterdir()) == [
        "RC_2019-09.zst", "RC_2019-10.zst", "RS_2019-09.zst", "RS_2019-10.zst", "manifest.json"]
    build = json.loads((out / "corpus" / "stats" / "build.json").read_text())["totals"]
    assert (build["records"], build["duplicates"], build["usable"], build["chains"]) == (2000, 20, 1804, 536)
    # the rdial preset's comment rules run in build (issue 15), as filter's preset requires
    assert build["unusable"] == {"deleted": 71, "quote": 33, "removed": 33, "short_comment": 39}
    shards = json.loads((out / "corpus" / "stats" / "filter.json").read_text())
    assert (shards["chains_in"], shards["chains_out"]) == (536, 338)
    assert shards["dropped"] == {"bot_author": 8, "long_target": 65, "markup": 8, "no_common_word": 15,
                                 "nsfw": 19, "too_few_turns": 58, "url": 25}
    summary = json.loads((out / "run" / "summary.json").read_text())
    assert summary["steps"] == 2 and Path(summary["checkpoint"]).name == "step-00000002"
    err = capsys.readouterr().err
    assert "== 6/6 a reply from the trained model" in err and "demo: done" in err
    assert "manifest.json" not in err  # extract is given the dumps, not synth's manifest beside them
    rows = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], [r for r in rows if r["split"] == "train"][-1]
    assert (first["step"], last["step"]) == (1, 2)
    assert (f"  train loss {first['loss']:.2f} at step 1 (the untrained model; a uniform guess over GPT-2's "
            f"50,257 tokens is 10.82) -> {last['loss']:.2f} at step 2") in err
    assert f"  valid perplexity {summary['valid_ppl']:,.2f}, test {summary['test_ppl']:,.2f} after 2 steps" in err
    assert "    rdial train --shards corpus/shards --out run --model small --device cuda\n" in err

    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(summary["checkpoint"])
    assert model.config.model_type == "gpt2"

    before = _digest(out / "corpus")
    assert main(["demo", "--out", str(out), "--comments", "1000", "--steps", "2", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "4 inputs (0 done, 4 skipped, 0 failed)" in err
    assert "16 buckets (0 built, 16 up to date, 0 failed, 0 stale removed)" in err
    assert "filter: shards up to date" in err
    assert f"train: {out / 'run'} finished at step 2 already; left as it is" in err
    assert _digest(out / "corpus") == before
    assert json.loads((out / "run" / "summary.json").read_text()) == summary  # not rewritten
