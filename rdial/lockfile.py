"""One flock-held lock file, shared by the corpus stages (CORPUS/.rdial.lock) and the trainer
(RUN/.rdial.lock):

    python -c "from pathlib import Path; from rdial.lockfile import held_lock; \
from rdial.errors import LockedError; cm = held_lock(Path('/tmp/x.lock'), 'demo', \
lambda who: LockedError(f'in use by {who}')); cm.__enter__(); print('held')"

The kernel drops an flock when its process dies, so a killed run never leaves the lock behind.
The holder writes who it is into the file, so the run that is refused can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Callable

from rdial.errors import LockedError
from rdial.publish import explain_os_error


@contextlib.contextmanager
def held_lock(path: Path, who: str, busy: Callable[[str], LockedError]):
    """Hold an exclusive flock on `path` (created if missing) for the duration of the block.

    `who` is written into the file (e.g. "`rdial build` (pid 123)"); when another process holds
    the lock, `busy(holder)` is raised at once, `holder` being what that process wrote."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise explain_os_error(exc, path) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another run"
            raise busy(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, who.encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
