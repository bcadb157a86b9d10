"""Decode blocks in worker processes: the GIL-held decode of one input runs on every core.

    rdial extract RC_2019-10.zst --out corpus --decode-procs 2   # (auto does this on 2+ free cores)
    python bench/bench_extract.py --month 2019-10                 # timed against in-process

msgspec's `decode_lines` and the Structs -> Arrow conversion hold the GIL for a whole block
(docs/extract.md, "Where the time goes"), so parse threads in one process take turns. Here
each block goes to one of N worker processes running the same `BlockDecoder`, and the
parent's threads only wait on pipes (the GIL is released while they do). Nothing about the
output changes: a worker returns exactly the `BlockResult` the in-process decoder would give
(its table through Arrow IPC), and `parse.read_ahead` finishes the blocks in input order.

Workers are started with subprocess (fork + exec, so safe after threads exist: nothing of the
parent's state is copied), from the thread that runs the input and outlives them. Each worker:
  - asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG) and also exits on EOF
    of its request pipe, so `kill -9` of the parent leaves no worker behind;
  - ignores SIGINT: Ctrl-C reaches the whole process group, and the parent (exit 130) kills
    the workers itself when it unwinds;
  - freezes the objects of its start-up out of the collector and raises generation 0's
    threshold (the tuples `astuple` makes triggered ~2,300 collections per 2M lines), and
    never imports pandas (pyarrow's first `pa.array` would import it: ~0.4 s and ~50 MB).
A worker that dies mid-block (OOM killer, a crash) makes the parent raise `DecodeWorkerDied`
naming the input and how the worker ended; the input is then reported failed, never a hang.

Protocol on the worker's stdin/stdout (little-endian):
  request   "<qqqb" len(data), first_line (-1: None), n_lines (-1: None), starts_file (-1: None),
            then `data` (the block's bytes, ~4 MiB)
  reply     "<cqqq" b"R", len(meta pickle), len(line numbers, int64), len(table IPC stream),
            then the three; or b"E" and a traceback (a bug in the decoder, not bad input)
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time

from rdial.errors import InputError

REQUEST = struct.Struct("<qqqb")
REPLY = struct.Struct("<cqqq")


class DecodeWorkerDied(InputError):
    """A decode worker ended (killed, crashed) or failed while the input still had blocks: the
    input is reported failed (no ledger entry, so the next run tries it again)."""


def _opt(value: int | None) -> int:
    return -1 if value is None else int(value)


def _read_exact(fh, n: int) -> bytearray | None:
    """Exactly `n` bytes from the raw pipe `fh`, or None at EOF (into one buffer: no joins)."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = fh.readinto(view[got:])
        if not k:
            return None
        got += k
    return buf


def _write_all(fh, *parts) -> None:
    for part in parts:
        view, done = memoryview(part).cast("B"), 0
        while done < len(view):
            done += fh.write(view[done:])


# --- the parent side -------------------------------------------------------------------------------
class DecodeProcesses:
    """`procs` worker processes decoding blocks of one input (`kind`, `max_line_bytes`) with
    the same signature as `BlockDecoder.decode`; thread-safe: each call takes a free worker.
    Start them before the reader thread (they start in parallel with it: ~0.3 s each)."""

    def __init__(self, procs: int, *, kind: str, max_line_bytes: int, name: str):
        self.name, self.procs = name, procs
        self.workers: list[subprocess.Popen] = []
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.peak_rss = 0          # largest worker peak (VmHWM), bytes, read at close
        self.cpu_seconds = 0.0     # the workers' CPU (user + system), read at close
        self.seconds_waiting = 0.0  # parent threads' time from request to reply (wall)
        self._broken = ""
        cmd = [sys.executable, "-m", "rdial.extract.decode_procs", kind, str(max_line_bytes),
               str(os.getpid())]
        try:
            for _ in range(procs):
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        bufsize=0, env=_worker_env())
                self.workers.append(proc)
                _widen(proc.stdin, proc.stdout)
                self._free.put(proc)
        except BaseException:
            self.close()
            raise

    def decode(self, data: bytes, first_line: int | None, n_lines: int | None, *,
               starts_file: bool | None = None):
        proc = self._free.get()
        if proc is None:  # closed, or a worker died: every waiting call stops too
            self._free.put(None)
            raise DecodeWorkerDied(self._broken or f"{self.name}: decode workers stopped")
        start = time.perf_counter()
        try:
            result = self._ask(proc, data, first_line, n_lines, starts_file)
        except BaseException as exc:
            # The worker's pipes are in an unknown state: it does not go back to the pool, and
            # calls waiting for a worker stop instead of waiting for ever.
            self._broken = self._broken or str(exc)
            self._free.put(None)
            raise
        self._free.put(proc)
        with self._lock:
            self.seconds_waiting += time.perf_counter() - start
        return result

    def _ask(self, proc, data, first_line, n_lines, starts_file):
        import numpy as np
        import pyarrow as pa

        from rdial.extract.decode import BlockResult

        try:
            _write_all(proc.stdin, REQUEST.pack(len(data), _opt(first_line), _opt(n_lines),
                                                _opt(starts_file)), data)
            head = _read_exact(proc.stdout, REPLY.size)
        except (BrokenPipeError, ConnectionResetError):
            head = None
        if head is None:
            raise self._died(proc)
        tag, a, b, c = REPLY.unpack(head)
        if tag == b"E":
            text = _read_exact(proc.stdout, a)
            raise DecodeWorkerDied(f"{self.name}: decode worker {proc.pid} failed: "
                                   f"{bytes(text or b'').decode(errors='replace').strip()}")
        meta, lines, table = (_read_exact(proc.stdout, n) for n in (a, b, c))
        if table is None:
            raise self._died(proc)
        kwargs = pickle.loads(meta)
        kwargs["lines"] = np.frombuffer(lines, dtype=np.int64)
        kwargs["table"] = pa.ipc.open_stream(pa.py_buffer(table)).read_all()  # zero-copy
        return BlockResult(**kwargs)

    def _died(self, proc) -> DecodeWorkerDied:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        how = ("did not exit" if code is None else
               f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}")
        return DecodeWorkerDied(f"{self.name}: decode worker {proc.pid} died while decoding a "
                                f"block ({how}); the input was not finished")

    def close(self) -> None:
        """Stop every worker now (also on Ctrl-C or an error: they are killed, not waited for)
        and reap them; first note their peak RSS."""
        self._free.put(None)  # a call still waiting for a worker stops
        for proc in self.workers:
            self.peak_rss = max(self.peak_rss, _peak_rss(proc.pid))
            self.cpu_seconds += _cpu_seconds(proc.pid)
        # Kill first, then close the pipes: a thread still reading one gets EOF (DecodeWorkerDied,
        # dropped with its future), not a file descriptor closed under it.
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
        for proc in self.workers:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for proc in self.workers:
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        self.workers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


F_SETPIPE_SZ = 1031  # <linux/fcntl.h>
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size for unprivileged users


def _widen(*pipes) -> None:
    """1 MiB pipes instead of 64 KiB: a 4 MiB block crosses in 4 writes and wake-ups, not 64."""
    import fcntl

    for pipe in pipes:
        try:
            fcntl.fcntl(pipe.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except (OSError, AttributeError):
            pass  # not Linux, or a lower limit: the default size works, only slower


def _peak_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _worker_env() -> dict:
    env = dict(os.environ)
    # the workers import rdial from where the parent did (a worktree, a Ray-shipped copy)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # one thread of Arrow's own pools is enough per worker: the parent runs N of them
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


# --- the worker side -------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """rdial.executor.die_with_parent, without importing rdial.executor (multiprocessing,
    concurrent.futures, socket: ~70 ms of each worker's start-up for five lines)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def _serve(kind: str, max_line_bytes: int, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    # The protocol owns fd 1: anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    sys.meta_path.insert(0, _NoPandas())  # pyarrow imports it on the first pa.array: not needed

    import gc
    import traceback

    import numpy as np
    import pyarrow as pa

    from rdial.extract.decode import BlockDecoder
    from rdial.extract.memory import keep_freed_memory
    from rdial.extract.normalize import SPECS

    keep_freed_memory()  # a 4 MiB request buffer a block: reused, not page-faulted in each time

    decoder = BlockDecoder(SPECS[kind], max_line_bytes=max_line_bytes)
    pa.set_cpu_count(1)
    gc.collect()
    gc.freeze()                      # start-up objects: never scanned again
    gc.set_threshold(100_000, 50, 50)  # decode makes no cycles but on its error paths
    while True:
        head = _read_exact(inp, REQUEST.size)
        if head is None:  # the parent closed the pipe (done, or it died)
            return
        size, first, n, starts = REQUEST.unpack(head)
        data = _read_exact(inp, size)
        if data is None:
            return
        try:
            # the bytearray as it came (the decoder reads it like bytes): no copy of the block
            result = decoder.decode(data, None if first < 0 else first,
                                    None if n < 0 else n,
                                    starts_file=None if starts < 0 else bool(starts))
            del data
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, result.table.schema) as writer:
                writer.write_table(result.table)
            table = sink.getvalue()
            lines = np.ascontiguousarray(result.lines, dtype="<i8")  # sent as raw bytes
            bad = [(number, reason, bytes(raw), detail) for number, reason, raw, detail in result.bad]
            meta = pickle.dumps({"bad": bad, "blank": result.blank,
                                 "repaired": result.repaired, "nulled": result.nulled,
                                 "reference_lines": result.reference_lines,
                                 "n_lines": result.n_lines}, protocol=pickle.HIGHEST_PROTOCOL)
            del result
        except Exception:  # noqa: BLE001 - a decoder bug: reported to the parent, which fails the input
            text = traceback.format_exc().encode()
            _write_all(out, REPLY.pack(b"E", len(text), 0, 0), text)
            continue
        _write_all(out, REPLY.pack(b"R", len(meta), lines.nbytes, table.size), meta, lines, table)


class _NoPandas:
    """An import finder that says pandas is not installed (pyarrow then skips its pandas shim;
    a None in sys.modules is not enough: pyarrow's compiled import takes the None as the
    module)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not used by rdial's decode workers")
        return None


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
