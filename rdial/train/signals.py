"""SIGTERM and Ctrl-C ask the trainer to checkpoint and stop after the current step.

    with StopSignals() as stop:
        while not stop.requested: ...

A second signal of the same kind gets Python's default behaviour (Ctrl-C twice interrupts at
once). Handlers can only be installed from the main thread; elsewhere this is a no-op.
"""

from __future__ import annotations

import signal
import threading


class StopSignals:
    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.requested = False
        self.received: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        self.requested = True
        self.received = signal.Signals(signum).name
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
