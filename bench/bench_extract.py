"""Benchmark `rdial extract` against the PushshiftDumps way of reading a dump, and zstd itself.

    python bench/bench_extract.py                      # 2M-line synthetic RC dump (zst, --long=31)
    python bench/bench_extract.py --lines 500000       # smaller
    python bench/bench_extract.py --month 2019-10      # 2019-era lines (47 keys, ~1 KB)
    python bench/bench_extract.py --dump RC_2019-10.zst   # any real dump
    python bench/bench_extract.py --no-drift           # skip the drifted twin
    python bench/bench_extract.py --phases             # thread-CPU of each phase of one extract

All three read the same file in the same invocation, one after the other:
  zstd       `zstd -dc --long=31 DUMP > /dev/null` (decompression only: the ceiling)
  baseline   what the PushshiftDumps scripts do: zstandard stream_reader, decode chunks to str,
             split on "\\n", stdlib json.loads per line, nothing written
  rdial      `python -m rdial.extract.cli DUMP --out TMP --decode-procs <cores>` (buckets chosen
             from the data, Parquet written), wall time of the whole command including
             interpreter start-up, its CPU with the decode workers', and its peak RSS (spawned
             from a small launcher, so the figure is rdial's own: see _LAUNCH; the workers' peak
             is printed beside it); then again with `--decode-procs 0` (decode in-process, the
             path before the workers), and whether the two wrote the same bytes
  drift      the same dump with created_utc int/string mixed line by line and `edited`
             false/int/true mixed (Pushshift's own months drift like this), written by synth's
             compressor, rdial again: its lines/s beside the uniform dump's (target: within 10%)
Targets (issue 2): rdial >= 3.5x baseline lines/s, >= 0.45x zstd lines/s, peak RSS < 2.5 GiB.
The machine is shared: the load average is printed before and after; rerun when it is high.

Then the floor: the CPU per line of the four steps no extract into bucketed Parquet can skip,
each timed alone in one thread on the first --floor-lines lines with the fastest tool among the
project's dependencies (decompression: `zstd -dc`'s own CPU; JSON -> columns: `pyarrow.json` or
`polars.read_ndjson` or msgspec (`decode_lines` into a Struct of rdial's fields, then one
Arrow array a field, as rdial does), whichever is fastest, only rdial's fields; grouping rows by bucket: one
Arrow gather; encoding: ONE Parquet file with zstd, no per-bucket cost). Their sum, spread
perfectly over every core with no other cost, is the best lines/s these libraries allow here;
it is printed against the targets.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def synth_dump(workdir: Path, lines: int, month: str) -> Path:
    """A synthetic RC dump from `rdial synth` (zst, window log 31), cached in `workdir`.
    The month picks the era's line schema (2005-12: 18 keys; 2019-10: 47 keys)."""
    out = workdir / (f"synth-{lines}" if month == "2005-12" else f"synth-{lines}-{month}")
    dump = out / f"RC_{month}.zst"
    if not dump.exists():
        print(f"generating a {lines:,}-line synthetic dump in {out} ...", flush=True)
        subprocess.run([sys.executable, "-m", "rdial", "synth", "--out", str(out), "--comments",
                        str(lines), "--months", month], check=True, cwd=ROOT)
    return dump


def drifted_dump(dump: Path) -> Path:
    """The same lines with created_utc a string on every other line and `edited` false, an int
    and true in turn, as real months drift (RC_2015-02: both; `edited`: 450 of 490 months);
    cached beside the dump. Written by the same compressor as `rdial synth` (level 1, window log
    31, content checksum), so the two files cost the same to decompress and the comparison
    measures the decode path alone: the earlier twin, from `zstd -3 --long=31 -T2`, cost 15%
    more CPU to decompress (1.28-1.40 s against 1.11-1.22 for the 2005 dump, 3 runs each)."""
    import re

    import zstandard

    from rdial.synth.config import SynthConfig
    from rdial.synth.writers import zst_compressor

    level = SynthConfig.__dataclass_fields__["level"].default  # what `rdial synth` used

    out = dump.parent / f"drift2-{dump.name}"  # drift-: the earlier twin (zstd CLI), not reused
    if out.exists():
        return out
    print(f"writing the drifted twin {out} ...", flush=True)
    created = re.compile(rb'"created_utc":(\d+)')
    edited = re.compile(rb'"edited":false')
    flips = [b'"edited":false', b'"edited":1500000000', b'"edited":true']
    tmp = out.with_suffix(".tmp")
    with open(dump, "rb") as src, open(tmp, "wb") as dst:
        lines = io.BufferedReader(zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(src),
                                  buffer_size=1 << 22)
        with zst_compressor(level).stream_writer(dst, closefd=False) as enc:
            for i, line in enumerate(lines):
                if i % 2:
                    line = created.sub(rb'"created_utc":"\1"', line, count=1)
                enc.write(edited.sub(flips[i % 3], line, count=1))
    tmp.rename(out)
    return out


# --- the baseline, as the PushshiftDumps scripts (Watchful1/PushshiftDumps) read dumps ---------
def read_and_decode(reader, chunk_size, max_window_size, previous_chunk=None, bytes_read=0):
    chunk = reader.read(chunk_size)
    bytes_read += chunk_size
    if previous_chunk is not None:
        chunk = previous_chunk + chunk
    try:
        return chunk.decode()
    except UnicodeDecodeError:
        if bytes_read > max_window_size:
            raise UnicodeError(f"Unable to decode frame after reading {bytes_read:,} bytes")
        return read_and_decode(reader, chunk_size, max_window_size, chunk, bytes_read)


def read_lines_zst(file_name):
    import zstandard

    with open(file_name, "rb") as file_handle:
        buffer = ""
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(file_handle)
        while True:
            chunk = read_and_decode(reader, 2**27, (2**29) * 2)
            if not chunk:
                break
            lines = (buffer + chunk).split("\n")
            for line in lines[:-1]:
                yield line, file_handle.tell()
            buffer = lines[-1]
        reader.close()


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def baseline(dump: Path) -> tuple[int, float, float]:
    """Lines, wall seconds, CPU seconds."""
    start, cpu = time.perf_counter(), _cpu_self()
    n = 0
    for line, _ in read_lines_zst(dump):
        json.loads(line)
        n += 1
    return n, time.perf_counter() - start, _cpu_self() - cpu


# --- the other two ----------------------------------------------------------------------------
def zstd_cli(dump: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `zstd -dc --long=31 DUMP > /dev/null`."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(["zstd", "-dc", "--long=31", str(dump)], stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("zstd failed")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


# Runs a command and prints its wait4 usage. Linux gives an exec'd child the peak RSS of the
# memory it was spawned from (vfork: the parent's own peak; exec_mmap keeps the old mm's high
# water mark), so a child spawned from this process after the baseline (2 GiB zstd window) or
# the twin's writing reported *their* peak: the 2.66 GiB of the drifted 2019 twin was the bench's
# baseline, not rdial (measured: a no-op child spawned after 1.5 GB was touched and freed here
# reports 1.48 GiB). Spawned from this small fresh interpreter, the command's peak is its own.
_LAUNCH = """import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), time.perf_counter() - start,
                  usage.ru_utime + usage.ru_stime, usage.ru_maxrss]))"""


def rdial_extract(dump: Path, out: Path, *args: str) -> tuple[float, float, int, dict]:
    """Wall and CPU seconds (the decode workers' included: they are reaped by the command), peak
    RSS (bytes) of the extract command's own process, and its per-input stats."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "rdial.extract.cli", str(dump), "--out", str(out), "--no-progress",
           *args]
    launched = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], cwd=ROOT, check=True,
                              stdout=subprocess.PIPE)
    status, seconds, cpu, maxrss = json.loads(launched.stdout)  # timed in the launcher
    if status != 0:
        raise SystemExit(f"rdial extract failed with status {status}")
    stats = json.loads((out / "stats" / "extract" / f"{dump.name}.json").read_text())
    return seconds, cpu, maxrss * 1024, stats


# --- the floor -----------------------------------------------------------------------------------
def floor_us_per_line(dump: Path, lines: int) -> dict[str, float]:
    """Thread-CPU us per line of parsing, grouping and encoding the first `lines` lines."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")  # before polars starts its pool: CPU of one
    import io

    import numpy as np
    import polars as pl
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq
    import zstandard

    from rdial.extract.normalize import COMMENT_SPEC, SUBMISSION_SPEC, kind_from_name
    from rdial.schema import thread_buckets

    spec = SUBMISSION_SPEC if kind_from_name(dump.name) == "submissions" else COMMENT_SPEC
    with open(dump, "rb") as fh:
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh)
        chunks, seen = [], 0
        while seen < lines and (chunk := reader.read(1 << 24)):
            chunks.append(chunk)
            seen += chunk.count(b"\n")
    rows = b"".join(chunks).split(b"\n")[:lines]
    rows = rows if rows[-1] else rows[:-1]
    # blocks of 10,000 lines, ~4 MiB of 2005-era lines as in rdial
    blocks = [b"\n".join(rows[i:i + 10_000]) + b"\n" for i in range(0, len(rows), 10_000)]
    n = sum(b.count(b"\n") for b in blocks)
    def best_of_two(step, clock=time.thread_time):  # the second run has a warm allocator
        seconds = []
        for _ in range(2):
            start = clock()
            out = step()
            seconds.append(clock() - start)
        return min(seconds), out

    result = {}
    for created in (pa.int64(), pa.string(), pa.float64()):  # how this era writes created_utc
        options = pj.ParseOptions(explicit_schema=spec.json_schema(created), unexpected_field_behavior="ignore")
        read = pj.ReadOptions(block_size=1 << 23, use_threads=False)
        try:
            result["parse_pyarrow"], tables = best_of_two(
                lambda: [pj.read_json(pa.BufferReader(b), read_options=read, parse_options=options)
                         for b in blocks])
            break
        except pa.ArrowInvalid:
            continue
    else:
        raise SystemExit("floor: pyarrow.json cannot read these lines with rdial's schema")
    schema = {f.name: pl.from_arrow(pa.array([], f.type)).dtype for f in options.explicit_schema}
    try:  # polars parses on its own threads: count them all (process CPU)
        result["parse_polars"], _ = best_of_two(
            lambda: [pl.read_ndjson(io.BytesIO(b), schema=schema) for b in blocks], time.process_time)
    except Exception:  # noqa: BLE001 - a type polars refuses: pyarrow's figure stands
        pass
    from operator import attrgetter

    import msgspec

    from rdial.extract.decode import record_struct

    decoder = msgspec.json.Decoder(record_struct(spec))
    fields = [(f.type, f.name) for f in spec.read_schema]

    def msgspec_columns(block):  # Structs -> one Arrow array a field (what rdial does)
        records = decoder.decode_lines(block)
        return [pa.array(list(map(attrgetter(name), records)), type=kind) for kind, name in fields]

    result["parse_msgspec"], _ = best_of_two(lambda: [msgspec_columns(b) for b in blocks])
    table = pa.concat_tables(tables).combine_chunks()
    key = "link_id" if spec is COMMENT_SPEC else "id"
    order = pa.array(np.argsort(thread_buckets(table.column(key), 1024), kind="stable"))
    result["group"], grouped = best_of_two(lambda: table.take(order))
    result["encode"], _ = best_of_two(lambda: pq.write_table(
        grouped, io.BytesIO(), compression="zstd", use_dictionary=False, write_statistics=False))
    return {k: 1e6 * v / n for k, v in result.items()} | {"lines": n}


# --- where the time goes: thread-CPU of each phase, one extract in this process ---------------
def phase_profile(dump: Path, out: Path) -> None:
    """Run the extract in this process with each phase's functions wrapped in a thread-CPU
    clock (the calls are per block, per spill or per bucket file: the clocks cost nothing
    measurable), and print each phase's CPU per line. Phases nest (indented: part of the one
    above); the reader thread is timed whole."""
    import threading

    import rdial.extract.bucket_writer as bw
    import rdial.extract.decode as dec
    import rdial.extract.parse as parse
    import rdial.extract.readers as readers
    import rdial.extract.stream as stream
    from rdial.extract.cli import main as extract_main

    spent: dict[str, float] = {}
    lock = threading.Lock()

    def add(name: str, seconds: float) -> None:
        with lock:
            spent[name] = spent.get(name, 0.0) + seconds

    def clocked(name, fn):
        def wrapper(*args, **kwargs):
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                add(name, time.thread_time() - start)
        return wrapper

    class ClockedDecoder:  # msgspec's Decoder is a C type: wrap the instance
        def __init__(self, inner):
            self.inner = inner

        def decode_lines(self, data):
            return clocked("    msgspec decode_lines", self.inner.decode_lines)(data)

    patches = [
        (readers.Prefetched, "_produce", "reader thread: decompress + cut blocks"),
        (dec.BlockDecoder, "decode", "parse threads: decode a block"),
        (dec, "_line_bounds", "  line bounds (numpy)"),
        (dec.BlockDecoder, "_fast", "  checks + msgspec"),
        (dec.BlockDecoder, "_columns", "  msgspec Structs -> Arrow"),
        (dec, "normalize_table", "  normalize_table"),
        (dec.BlockDecoder, "_reference", "  per-line reference"),
        (parse.BlockParser, "parse", "main: finish blocks (counters, quarantine)"),
        (stream, "thread_buckets", "main: thread buckets"),
        (stream.TaskProgress, "report", "main: progress"),
        (bw.BucketedParquetWriter, "_append_spills", "spill thread: group + spill (IPC)"),
        (bw.BucketedParquetWriter, "_group", "  group: sort (gather on 2 threads, not here)"),
        (bw.BucketedParquetWriter, "_write_bucket", "bucket files: read back + Parquet (2 threads)"),
    ]
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    init = dec.BlockDecoder.__init__

    def clocked_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.decoder = ClockedDecoder(self.decoder)

    try:
        for owner, attr, name in patches:
            setattr(owner, attr, clocked(name, getattr(owner, attr)))
        dec.BlockDecoder.__init__ = clocked_init
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu = time.perf_counter(), time.process_time()
        extract_main([str(dump), "--out", str(out), "--no-progress"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for owner, attr, fn in saved:
            setattr(owner, attr, fn)
        dec.BlockDecoder.__init__ = init
    stats = json.loads((out / "stats" / "extract" / f"{dump.name}.json").read_text())
    n = stats["lines"]
    print(f"phases of one extract of {n:,} lines in this process: {wall:.2f} s wall, {cpu:.2f} s "
          f"CPU ({1e6 * cpu / n:.2f} us/line); load average {os.getloadavg()[0]:.2f}")
    for _, _, name in patches:
        print(f"  {name:50s} {1e6 * spent.get(name, 0.0) / n:6.2f} us/line")
        if name == "  checks + msgspec":
            key = "    msgspec decode_lines"
            print(f"  {key:50s} {1e6 * spent.get(key, 0.0) / n:6.2f} us/line")
    print(f"  {'rest (start-up, imports, gathers, GC, publish)':50s} "
          f"{1e6 * (cpu - sum(v for k, v in spent.items() if not k.startswith(' '))) / n:6.2f} us/line")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000, help="synthetic dump size")
    parser.add_argument("--month", default="2005-12",
                        help="month of the synthetic dump; its era sets the line schema")
    parser.add_argument("--dump", type=Path, help="benchmark this zst dump instead")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rdial-bench-extract")
    parser.add_argument("--no-drift", action="store_true", help="skip the drifted twin of the dump")
    parser.add_argument("--phases", action="store_true",
                        help="only the per-phase CPU of one extract, in this process")
    parser.add_argument("--floor-lines", type=int, default=400_000,
                        help="lines timed for the floor (0: skip it)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    dump = args.dump or synth_dump(args.workdir, args.lines, args.month)
    print(f"dump: {dump} ({dump.stat().st_size / 1e6:.1f} MB compressed); "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    if args.phases:
        phase_profile(dump, args.workdir / "corpus-phases")
        return

    # The decode in worker processes, as `--decode-procs auto` chooses on a quiet machine (one
    # process a core); auto itself would fall back to in-process on a busy one.
    procs = str(os.cpu_count() or 1)
    rdial_s, rdial_cpu, rss, stats = rdial_extract(dump, args.workdir / "corpus",
                                                   "--decode-procs", procs)
    lines = stats["lines"]
    inproc_s, inproc_cpu, inproc_rss, inproc_stats = rdial_extract(
        dump, args.workdir / "corpus-inproc", "--decode-procs", "0")
    same = all((args.workdir / "corpus" / p.relative_to(args.workdir / "corpus-inproc")).read_bytes()
               == p.read_bytes() for p in (args.workdir / "corpus-inproc").rglob("*.parquet"))
    zstd_s, zstd_cpu = zstd_cli(dump)
    base_n, base_s, base_cpu = baseline(dump)
    assert base_n == lines, (base_n, lines)

    runs = {"zstd -dc --long=31": (zstd_s, zstd_cpu), "baseline (PushshiftDumps way)": (base_s, base_cpu),
            "rdial extract, decode in-process": (inproc_s, inproc_cpu),
            "rdial extract": (rdial_s, rdial_cpu)}
    print(f"lines: {lines:,} ({stats['good']:,} rows written, {stats['quarantined_total']:,} "
          f"quarantined; rdial's own task time {stats['seconds']:.2f} s)")
    print(f"  {'':32s} {'wall':>9s} {'lines/s':>12s} {'CPU':>9s} {'CPU us/line':>12s}")
    for name, (seconds, cpu) in runs.items():
        print(f"  {name:32s} {seconds:7.2f} s {lines / seconds:>12,.0f} {cpu:7.2f} s "
              f"{1e6 * cpu / lines:>12.2f}")
    rate = {name: lines / seconds for name, (seconds, _) in runs.items()}
    vs_base = rate["rdial extract"] / rate["baseline (PushshiftDumps way)"]
    vs_zstd = rate["rdial extract"] / rate["zstd -dc --long=31"]
    print(f"rdial / baseline: {vs_base:.2f}x lines/s (target >= 3.5x); "
          f"CPU per line {base_cpu / rdial_cpu:.2f}x less")
    print(f"rdial / zstd -dc: {vs_zstd:.2f}x lines/s (target >= 0.45x)")
    workers = stats.get("decode_procs", 0)
    print(f"rdial peak RSS: {rss / 2**30:.2f} GiB (target < 2.5 GiB)"
          + (f", plus {workers} decode workers of {stats['decode_procs_peak_rss'] / 2**30:.2f} GiB "
             f"at most each (sum {(rss + workers * stats['decode_procs_peak_rss']) / 2**30:.2f})"
             if workers else ""))
    print(f"decode in worker processes ({workers}) against in-process: "
          f"{inproc_s / rdial_s:.2f}x lines/s, CPU {1e6 * inproc_cpu / lines:.2f} -> "
          f"{1e6 * rdial_cpu / lines:.2f} us/line (of it the workers "
          f"{1e6 * stats.get('decode_procs_cpu_seconds', 0) / lines:.2f}), in-process peak RSS {inproc_rss / 2**30:.2f} GiB; "
          f"bucket files {'byte-identical' if same else 'DIFFERENT'}")
    if not args.no_drift:
        drift = drifted_dump(dump)
        drift_s, drift_cpu, drift_rss, drift_stats = rdial_extract(drift, args.workdir / "corpus-drift")
        assert drift_stats["good"] == stats["good"], (drift_stats["good"], stats["good"])
        print(f"rdial on the drifted twin (created_utc int/string, edited false/int/true, line by "
              f"line): {drift_s:.2f} s, {lines / drift_s:,.0f} lines/s, {1e6 * drift_cpu / lines:.2f} "
              f"CPU us/line, {drift_stats['reference_lines']:,} lines judged one by one; "
              f"{drift_s / rdial_s - 1:+.1%} time against the uniform dump (target within 10%), "
              f"peak RSS {drift_rss / 2**30:.2f} GiB")
    print(f"load average after: {os.getloadavg()[0]:.2f} (shared machine: figures vary with it)")
    if args.floor_lines:
        print_floor(floor_us_per_line(dump, args.floor_lines), 1e6 * zstd_cpu / lines,
                    rate["baseline (PushshiftDumps way)"], rate["zstd -dc --long=31"])


def print_floor(floor: dict, zstd_us: float, base_rate: float, zstd_rate: float) -> None:
    parse = min(v for k, v in floor.items() if k.startswith("parse_"))
    steps = {"decompress (zstd -dc's CPU)": zstd_us, "JSON -> columns": parse,
             "group by bucket (one gather)": floor["group"], "Parquet + zstd (one file)": floor["encode"]}
    total, cores = sum(steps.values()), os.cpu_count() or 1
    print(f"floor on the first {floor['lines']:,} lines, CPU us per line, each step alone in one thread:")
    for name, us in steps.items():
        print(f"  {name:32s} {us:6.2f}")
    parsers = ", ".join(f"{k[6:]} {v:.2f}" for k, v in floor.items() if k.startswith("parse_"))
    print(f"  {'sum':32s} {total:6.2f}   (parsers: {parsers})")
    best = cores * 1e6 / total
    print(f"best possible on {cores} cores with nothing else (perfect overlap, no Python, no "
          f"per-bucket files, no start-up): {best:,.0f} lines/s = {best / base_rate:.2f}x baseline "
          f"(target 3.5x), {best / zstd_rate:.2f}x zstd -dc (target 0.45x)")


if __name__ == "__main__":
    main()
