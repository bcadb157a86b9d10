"""Fixtures of the eval tests: the DSTC7 files, and NIST's mteval-v14.pl run the way DSTC7's
evaluation/src/metrics.py runs it (its `_write_xml` files), for parity checks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REAL = Path(os.environ.get("RDIAL_REAL_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"))
DSTC7 = REAL / "eval" / "dstc7_human_eval"
SCRIPT = REAL.parent.parent / "tools" / "mteval-v14.pl"


@pytest.fixture(scope="session")
def dstc7() -> Path:
    if not (DSTC7 / "dstc7-task2-gold_responses.tsv").exists():
        pytest.skip(f"DSTC7 task-2 files not found in {DSTC7}")
    return DSTC7


@pytest.fixture(scope="session")
def mteval():
    """run_mteval(hyps, ref_sets, workdir); skips when perl, XML::Twig or Sort::Naturally is missing."""
    if not perl_ready():
        pytest.skip(f"perl with XML::Twig and Sort::Naturally, or {SCRIPT}, not available")
    return run_mteval


def perl_ready() -> bool:
    if shutil.which("perl") is None or not SCRIPT.exists():
        return False
    probe = subprocess.run(["perl", "-MXML::Twig", "-MSort::Naturally", "-e", "1"], capture_output=True)
    return probe.returncode == 0


def _xml(role: str, sets: list[list[str]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE mteval SYSTEM "">', "<mteval>"]
    for i, lines in enumerate(sets):
        if role == "src":
            out.append('<srcset setid="unnamed" srclang="src">')
        elif role == "hyp":
            out.append('<tstset setid="unnamed" srclang="src" trglang="tgt" sysid="unnamed">')
        else:
            out.append(f'<refset setid="unnamed" srclang="src" trglang="tgt" refid="ref{i}">')
        out.append('<doc docid="unnamed" genre="unnamed">')
        for j, line in enumerate(lines, 1):
            line = line.replace("&", " ").replace("<", " ")  # DSTC7: "remove illegal xml char"
            if role != "src" and not line:
                line = "__empty__"
            out.append(f'<p><seg id="{j}"> {line} </seg></p>')
        out.append("</doc>")
        out.append({"src": "</srcset>", "hyp": "</tstset>", "ref": "</refset>"}[role])
    out.append("</mteval>")
    return "\n".join(out)


def run_mteval(hyps: list[str], ref_sets: list[list[str]], workdir: Path) -> tuple[list[float], list[float]]:
    """(NIST-1..4, BLEU-1..4) as mteval-v14.pl prints them; ref_sets[k][i] = reference set k, item i."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "src.xml").write_text(_xml("src", [["__src__"] * len(hyps)]), encoding="utf-8")
    (workdir / "hyp.xml").write_text(_xml("hyp", [hyps]), encoding="utf-8")
    (workdir / "ref.xml").write_text(_xml("ref", ref_sets), encoding="utf-8")
    proc = subprocess.run(["perl", str(SCRIPT), "-s", "src.xml", "-t", "hyp.xml", "-r", "ref.xml"],
                          cwd=workdir, capture_output=True, text=True, check=True)
    cumulative = proc.stdout.split("Cumulative N-gram scoring")[1]
    nist = re.search(r"NIST:((?:\s+[\d.]+){9})", cumulative).group(1).split()
    bleu = re.search(r"BLEU:((?:\s+[\d.]+){9})", cumulative).group(1).split()
    return [float(x) for x in nist[:4]], [float(x) for x in bleu[:4]]


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """(shards, forward run, reverse run): two 3-step tiny models on the same sample shards (CPU)."""
    from tests.train.sample import write_sample_shards
    from rdial.train.trainer import TrainConfig, train

    root = tmp_path_factory.mktemp("e2e")
    shards = write_sample_shards(root / "shards", train=96, valid=6, test=6, files=1, rows_per_group=48, seed=3)
    runs = []
    for name, reverse in (("forward", False), ("reverse", True)):
        train(TrainConfig(shards=shards, out=root / name, model="tiny", max_steps=3, batch_tokens=512,
                          max_seq_len=64, lr=3e-3, warmup_steps=1, eval_every=0, eval_dialogues=6, save_every=0,
                          log_every=4, progress=False, device="cpu", reverse=reverse))
        runs.append(root / name)
    return shards, runs[0], runs[1]
