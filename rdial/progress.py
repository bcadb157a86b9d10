"""Progress for long work: a live line on a terminal, plain log lines under cron.

    p = Progress("extract", total=total_bytes, unit="B")
    p.update(len(chunk), lines=n)        # extra counters are summed and shown with their rate
    p.close()

On a TTY it redraws one line (rate, percentage, ETA) at most 5 times a second. Without a TTY it
prints a full line every `log_every` seconds (default 30), so a cron log stays readable.
"""

from __future__ import annotations

import os
import sys
import time


def _human(n: float, unit: str) -> str:
    if unit == "B":
        for suffix in ("B", "KB", "MB", "GB", "TB"):
            if abs(n) < 1000 or suffix == "TB":
                return f"{n:.1f} {suffix}" if suffix != "B" else f"{n:.0f} B"
            n /= 1000
    for suffix in ("", "k", "M", "G"):
        if abs(n) < 1000 or suffix == "G":
            return f"{n:.1f}{suffix} {unit}" if suffix else f"{n:.0f} {unit}"
        n /= 1000
    return f"{n} {unit}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class Progress:
    def __init__(self, desc: str, total: float | None = None, unit: str = "items", *,
                 stream=None, log_every: float = 30.0, enabled: bool = True):
        self.desc, self.total, self.unit = desc, total, unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
        self.enabled = enabled
        self.log_every = log_every
        self.start = self._last = time.monotonic()
        self.done = 0.0
        self.extra: dict[str, float] = {}

    def update(self, n: float = 1, **extra: float) -> None:
        self.done += n
        for k, v in extra.items():
            self.extra[k] = self.extra.get(k, 0) + v
        now = time.monotonic()
        if not self.enabled:
            return
        if (self.tty and now - self._last >= 0.2) or (not self.tty and now - self._last >= self.log_every):
            self._last = now
            self._emit(now, final=False)

    def line(self, now: float | None = None) -> str:
        now = now or time.monotonic()
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        parts = [f"{self.desc}: {_human(self.done, self.unit)}"]
        if self.total:
            parts[0] += f"/{_human(self.total, self.unit)} ({100 * self.done / self.total:.0f}%)"
        parts.append(f"{_human(rate, self.unit)}/s")
        for k, v in self.extra.items():
            parts.append(f"{_human(v, k)} ({_human(v / elapsed, k)}/s)")
        if self.total and rate > 0 and self.done < self.total:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        return ", ".join(parts)

    def _emit(self, now: float, final: bool) -> None:
        text = self.line(now)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def write(self, message: str) -> None:
        """A log message that does not garble the live line."""
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(message.rstrip("\n") + "\n")
        self.stream.flush()

    @staticmethod
    def message(text: str, stream=None) -> None:
        """A log line outside any progress line (stderr by default)."""
        stream = stream or sys.stderr
        stream.write(text.rstrip("\n") + "\n")
        stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._emit(time.monotonic(), final=True)
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
