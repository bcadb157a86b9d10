"""The progress line fits the terminal: no wrapping, no stale lines on 80 columns."""

from __future__ import annotations

import io

from rdial.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_lines_fit_80_columns_and_keep_what_matters(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm")
    tty = Terminal()
    p = Progress("filter: corpus-wide rules, writing shards", total=10_000_000_000, unit="B",
                 stream=tty)
    p.start -= 100  # 100 s in
    p._last = 0
    p.update(3_456_789_012, lines=12_345_678, comments=5_000_000)
    p.close()
    frames = [f for f in tty.getvalue().replace("\x1b[2K", "").replace("\n", "\r").split("\r") if f]
    assert len(frames) == 2 and all(len(f) <= 79 for f in frames)
    assert frames[0].startswith("filter: corpus-wide rules, writing shards: 3.5 GB/10.0 GB (35%), ETA 3:")
    # the full line, as a log under cron gets it, is 150 columns
    assert len(p.line()) > 140


def test_a_wide_terminal_gets_every_part_and_a_log_gets_full_lines(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    p = Progress("build", total=64, unit="buckets", stream=Terminal())
    now = p.start + 10
    p.done, p.extra = 16, {"comments": 120_000, "chains": 30_000}
    assert p.line(now, width=200) == p.line(now) == (
        "build: 16 buckets/64 buckets (25%), 2 buckets/s, 120.0k comments (12.0k comments/s), "
        "30.0k chains (3.0k chains/s), ETA 0:30, elapsed 0:10")
    assert p.line(now, width=100) == (
        "build: 16 buckets/64 buckets (25%), 2 buckets/s, 120.0k comments, 30.0k chains, ETA 0:30")
    assert p.line(now, width=80) == "build: 16 buckets/64 buckets (25%), 2 buckets/s, ETA 0:30"
    log = io.StringIO()  # not a terminal: one full line every log_every seconds, never cut
    q = Progress("build", total=64, unit="buckets", stream=log, log_every=0)
    q.update(1, comments=10)
    assert log.getvalue().startswith("build: 1 buckets/64 buckets (2%), ") and "\r" not in log.getvalue()
