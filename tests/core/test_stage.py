"""The stage scaffold (rdial/stage.py): one exit status for every stage, named problems, the
recorded last run, and 75 for a corpus held by another run."""

from __future__ import annotations

import json
import multiprocessing

import orjson

from rdial.cli import main
from rdial.corpus import Corpus


def comment(cid: str, link: str = "t3_a", parent: str | None = None, body: str = "hello there") -> bytes:
    return orjson.dumps({"id": cid, "link_id": link, "parent_id": parent or link, "body": body,
                         "author": "someone", "subreddit": "reddit.com", "created_utc": 1134365188,
                         "score": 2, "retrieved_on": 1473738411})


def submission(sid: str) -> bytes:
    return orjson.dumps({"id": sid, "title": "a title", "selftext": "", "subreddit": "reddit.com",
                         "author": "op", "over_18": False, "score": 5, "num_comments": 1,
                         "created_utc": 1134365000})


def write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_an_input_without_one_good_line_makes_extract_exit_1_and_is_named(tmp_path, capsys):
    good = write(tmp_path / "d" / "RC_2005-12.ndjson", [comment("a"), comment("b", parent="t1_a")])
    wrong = write(tmp_path / "d" / "RS_2005-12.ndjson", [submission("x"), submission("y")])
    out = tmp_path / "c"
    # --kind comments on a submissions file: every line quarantined (missing link_id)
    code = main(["extract", str(good), str(wrong), "--out", str(out), "--kind", "comments",
                 "--buckets", "2", "--workers", "1", "--no-progress"])
    assert code == 1
    problem = ("extract: RS_2005-12.ndjson: no good line: all 2 lines quarantined "
               "(2 missing_field:link_id)")
    assert problem in capsys.readouterr().out.splitlines()
    stats = json.loads((out / "stats" / "extract.json").read_text())
    assert (stats["exit_status"], stats["problems"], stats["failed_tasks"]) == (1, [problem], [])
    run = Corpus.open(out).metadata()["runs"]["extract"]
    assert (run["exit_status"], run["problems"], run["tasks"], run["done"]) == (1, [problem], 2, 2)
    # the good input's rows are there
    assert stats["inputs"]["RC_2005-12.ndjson"]["good"] == 2
    # a rerun on unchanged inputs has nothing new to report: both are up to date
    assert main(["extract", str(good), str(wrong), "--out", str(out), "--kind", "comments",
                 "--no-progress"]) == 0


def test_build_without_comments_and_filter_without_chains_exit_1(tmp_path, capsys):
    subs = write(tmp_path / "d" / "RS_2005-12.ndjson", [submission("x")])
    out = tmp_path / "c"
    assert main(["extract", str(subs), "--out", str(out), "--buckets", "2", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["build", str(out), "--no-progress"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"build: {out} holds no comments yet; run `rdial extract RC_... --out {out}` first")
    assert json.loads((out / "stats" / "build.json").read_text())["exit_status"] == 1
    assert main(["filter", str(out), "--no-progress"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"filter: {out / 'chains'}: no chains found; run `rdial build {out}` first")
    runs = Corpus.open(out).metadata()["runs"]
    assert (runs["build"]["exit_status"], runs["filter"]["exit_status"]) == (1, 1)


def _hold(root, ready, release):
    with Corpus.open(root).lock("build"):
        ready.set()
        release.wait(30)


def test_a_corpus_held_by_another_run_exits_75(tmp_path, capsys):
    good = write(tmp_path / "d" / "RC_2005-12.ndjson", [comment("a")])
    out = tmp_path / "c"
    assert main(["extract", str(good), "--out", str(out), "--buckets", "2", "--no-progress"]) == 0
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(out, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        capsys.readouterr()
        for argv in (["extract", str(good), "--out", str(out)], ["build", str(out)],
                     ["filter", str(out)]):
            assert main(argv) == 75
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"rdial: error: {out} is in use by `rdial build` (pid ")
    finally:
        release.set()
        holder.join(30)
    assert main(["build", str(out), "--no-progress"]) == 0
