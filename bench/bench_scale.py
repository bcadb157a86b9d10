"""python bench/bench_scale.py --data-dir /work/scale-data   # real 2012-13 month size, end to end

Every stage of rdial at the size of a real month (issue 16), beside the same run at a tenth of
it, and the monthly job at that size:

  dumps      `rdial synth --months 2012-11 2012-12 2013-01 --comments N --seed 16` (2009-era
             schema: 21-key comments, `created_utc` a string; zst with a 2 GiB window), written
             ONCE under --data-dir/synth-N-seed16/ and reused by every later run (delete the
             folder to regenerate). N = --comments (default 20,000,000, a month of late 2012)
             and N/10 (--tenth; the tenth is the 2M-line size of bench_extract/bench_build).
  two months extract (RC+RS of 2012-11 and 2012-12) -> build -> filter -> export (dialogpt-tsv,
             every split) into WORK/<size>/corpus2, with --buckets N/1M * --buckets-per-million
             (so a bucket-month holds the same number of comments at both sizes).
  monthly    (full size only; --no-monthly skips it) a copy of corpus2 gets 2013-01: extract +
             build + filter (+ export) only what changed, against corpus3 made from scratch from
             all three months; every file of comments/, submissions/, chains/, shards/ and the
             export is hashed on both sides and must be byte-identical.

Each stage is one child process (`python -m rdial <stage> ...`), measured from outside:
  wall, CPU (user+sys of the child and every descendant it reaped: os.wait4's rusage),
  rate per vCPU (units of the stage / CPU s: lines for extract, comments for build, chains for
  filter and export), peak RSS of the biggest process (wait4's ru_maxrss, the largest of the
  tree; the bench itself stays small because a child starts from its parent's high-water mark),
  peak RSS of the tree together (psutil, sampled every 0.2 s), bytes read (the stage's input
  files) and written to storage (ru_oublock: every page written, scratch included), files and
  bytes the corpus gained, and its peak size while the stage ran (scratch included, sampled).
It prints the tables and the checks of issue 16 (build and filter peak RSS full/tenth <= 1.3;
extract peak minus the zstd window it used, full against tenth), and writes everything as
JSON (--json). The machine is shared: wall figures move with other people's load; CPU seconds
are the steadier figure, and the load averages are printed with each stage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

MONTHS = ("2012-11", "2012-12", "2013-01")
SEED = 16
ZSTD_WINDOW = 2 ** 31  # the dumps' declared window (window_log 31)
STAGES = ("extract", "build", "filter", "export")
PARTS = ("full", "tenth", "incremental", "scratch")
COMPARED = ("comments", "submissions", "chains", "shards")  # must match incremental vs scratch
ROOT = Path(__file__).resolve().parents[1]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rdial_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rdial", *args]


# --- the dumps: made once, reused ----------------------------------------------------------

def ensure_dumps(data_dir: Path, comments: int, workers: int, months=MONTHS) -> Path:
    """--data-dir/synth-N-seed16 holding RC_/RS_ of `months`; when one is missing, all of MONTHS
    are written in one synth run (the later months continue the earlier months' threads)."""
    out = data_dir / f"synth-{comments}-seed{SEED}"
    if all((out / f"{k}_{m}.zst").exists() for m in months for k in ("RC", "RS")):
        return out
    log(f"synth: {len(MONTHS)} months x {comments:,} comments -> {out} (once; reused later)")
    cmd = rdial_cmd("synth", "--out", str(out), "--months", *MONTHS, "--comments", str(comments),
                    "--seed", str(SEED), "--workers", str(workers), "--no-progress")
    measured = measure(cmd, out)
    if measured["exit"] != 0:
        raise SystemExit(f"bench_scale: synth failed (exit {measured['exit']}): {' '.join(cmd)}")
    log(f"synth: {measured['wall_s']:.0f} s, {measured['cpu_s']:.0f} CPU s, "
        f"peak {measured['peak_rss_mb']:.0f} MB")
    return out


def dumps_of(dumps: Path, months) -> list[Path]:
    return [dumps / f"{k}_{m}.zst" for m in months for k in ("RC", "RS")]


# --- measuring one child -------------------------------------------------------------------

def tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) under root."""
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            try:
                size += os.lstat(os.path.join(dirpath, n)).st_size
                files += 1
            except OSError:  # renamed or removed meanwhile
                pass
    return files, size


class Sampler(threading.Thread):
    """Polls a process tree's RSS (every 0.2 s) and a folder's size (every 1 s) until stopped."""

    def __init__(self, pid: int, folder: Path | None):
        super().__init__(daemon=True)
        self.pid, self.folder = pid, folder
        self.tree_rss = self.biggest_rss = self.folder_peak = 0
        self.main_cpu = 0.0  # the top process' own CPU (not its workers'): the serial part
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil  # checked in main(): pip install -e '.[bench]'
        try:
            top = psutil.Process(self.pid)
        except psutil.Error:
            return
        last_du = 0.0
        while not self.stop.wait(0.2):
            rss = []
            try:
                for p in [top, *top.children(recursive=True)]:
                    try:
                        rss.append(p.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            try:
                t = top.cpu_times()
                self.main_cpu = max(self.main_cpu, t.user + t.system)
            except psutil.Error:
                pass
            if rss:
                self.tree_rss = max(self.tree_rss, sum(rss))
                self.biggest_rss = max(self.biggest_rss, max(rss))
            if self.folder is not None and time.monotonic() - last_du >= 1.0:
                last_du = time.monotonic()
                self.folder_peak = max(self.folder_peak, tree_size(self.folder)[1])


def measure(cmd: list[str], folder: Path | None, inputs: list[Path] = ()) -> dict:
    """Run cmd as a child; its wall, CPU, peak RSS, I/O and what it added under `folder`."""
    before = tree_size(folder) if folder is not None and folder.exists() else (0, 0)
    load = os.getloadavg()
    bench_peak = own_peak_mb()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampler = Sampler(child.pid, folder)
    sampler.start()
    output = child.stdout.read()  # the child's own summary lines; read until it closes them
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop.set()
    sampler.join()
    after = tree_size(folder) if folder is not None and folder.exists() else (0, 0)
    return {
        "cmd": " ".join(cmd[2:]) if cmd[:2] == [sys.executable, "-m"] else " ".join(cmd),
        "exit": child.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "main_cpu_s": round(sampler.main_cpu, 2),                  # sampled: at most 0.2 s short
        "bench_peak_mb": bench_peak,  # the floor of peak_rss_mb (inherited across fork + exec)
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),          # biggest process of the tree
        "tree_rss_mb": round(sampler.tree_rss / 2 ** 20, 1),        # all together (sampled)
        "read_mb": round(sum(p.stat().st_size for p in inputs) / 1e6, 1),
        "disk_read_mb": round(usage.ru_inblock * 512 / 1e6, 1),    # not from the page cache
        "written_mb": round(usage.ru_oublock * 512 / 1e6, 1),      # scratch included
        "files_added": after[0] - before[0],
        "bytes_added_mb": round((after[1] - before[1]) / 1e6, 1),
        "folder_peak_mb": round(max(sampler.folder_peak, after[1]) / 1e6, 1),
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "output_tail": output.decode(errors="replace").strip().splitlines()[-3:],
    }


# --- the stages ----------------------------------------------------------------------------

def files_under(corpus: Path, sub: str) -> list[Path]:
    return sorted(p for p in (corpus / sub).rglob("*.parquet")) if (corpus / sub).exists() else []


def run_stage(stage: str, corpus: Path, *, inputs: list[Path] = (), buckets: int = 0,
              workers: int, export_to: Path | None = None) -> dict:
    common = ["--workers", str(workers), "--no-progress"]
    if stage == "extract":
        cmd = rdial_cmd("extract", *map(str, inputs), "--out", str(corpus),
                        "--buckets", str(buckets), *common)
        read = list(inputs)
    elif stage == "build":
        read = files_under(corpus, "comments") + files_under(corpus, "submissions")
        cmd = rdial_cmd("build", str(corpus), *common)
    elif stage == "filter":
        read = files_under(corpus, "chains")
        cmd = rdial_cmd("filter", str(corpus), *common)
    elif stage == "export":
        read = files_under(corpus, "shards")
        cmd = rdial_cmd("export", str(corpus), "--format", "dialogpt-tsv", "--out", str(export_to))
    else:
        raise ValueError(stage)
    log(f"  {stage}: {corpus.name} ...")
    r = measure(cmd, corpus, read)
    if r["exit"] != 0:
        raise SystemExit(f"bench_scale: {r['cmd']} exited {r['exit']}:\n" + "\n".join(r["output_tail"]))
    if stage == "export":
        r["bytes_added_mb"] = round(export_to.stat().st_size / 1e6, 1)
        r["files_added"] = 1
    r["units"], r["unit"] = stage_units(stage, corpus)
    r["per_vcpu"] = round(r["units"] / r["cpu_s"]) if r["cpu_s"] else None
    if stage == "build":  # buckets built and skipped: what a monthly run saved
        run = json.loads((corpus / "stats" / "build.json").read_text())["run"]
        r["buckets_built"], r["buckets_skipped"] = run.get("built"), run.get("skipped")
    log(f"  {stage}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU s, {r['units']:,} {r['unit']}, "
        f"peak {r['peak_rss_mb']:.0f} MB (tree {r['tree_rss_mb']:.0f} MB), load {r['load_before'][0]}")
    return r


def stage_units(stage: str, corpus: Path) -> tuple[int, str]:
    """What the stage processed, from the stats it wrote: lines of the inputs this run extracted
    (a monthly run skips the old ones), comments and chains of the corpus for the others."""
    stats = corpus / "stats"
    if stage == "extract":
        inputs = json.loads((stats / "extract.json").read_text())["inputs"]
        return sum(int(i.get("lines", 0)) for i in inputs.values() if i.get("status") == "done"), "lines"
    if stage == "build":
        return int(json.loads((stats / "build.json").read_text())["totals"]["comments"]), "comments"
    s = json.loads((stats / "filter.json").read_text())
    return (int(s["chains_in"]), "chains") if stage == "filter" else (int(s["chains_out"]), "chains")


def run_pipeline(corpus: Path, inputs: list[Path], buckets: int, workers: int,
                 export_to: Path, stages=STAGES) -> dict:
    out = {}
    for stage in stages:
        out[stage] = run_stage(stage, corpus, inputs=inputs, buckets=buckets, workers=workers,
                               export_to=export_to)
    return out


def disk_per_stage(corpus: Path, export: Path | None, comments: int) -> dict:
    """Bytes each kind of output holds, and bytes per comment of the corpus."""
    out = {}
    for sub in ("comments", "submissions", "chains", "shards", "_ledger", "stats", "keys"):
        files, size = tree_size(corpus / sub) if (corpus / sub).exists() else (0, 0)
        out[sub] = {"files": files, "mb": round(size / 1e6, 1),
                    "bytes_per_comment": round(size / comments, 2) if comments else None}
    if export is not None and export.exists():
        size = export.stat().st_size
        out["export_tsv"] = {"files": 1, "mb": round(size / 1e6, 1),
                             "bytes_per_comment": round(size / comments, 2) if comments else None}
    return out


def digests(corpus: Path, export: Path) -> dict[str, str]:
    """sha256 of every compared file (path relative to the corpus) and of the export."""
    out = {}
    for sub in COMPARED:
        for p in sorted((corpus / sub).rglob("*")) if (corpus / sub).exists() else ():
            if p.is_file():
                out[str(p.relative_to(corpus))] = sha256(p)
    out["export.tsv"] = sha256(export)
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


# --- the bench -----------------------------------------------------------------------------

def two_months(label: str, dumps: Path, work: Path, comments: int, buckets: int, workers: int) -> dict:
    root = work / label
    corpus = root / "corpus2"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log(f"{label}: 2 months x {comments:,} comments, {buckets} buckets")
    stages = run_pipeline(corpus, dumps_of(dumps, MONTHS[:2]), buckets, workers, root / "export2.tsv")
    n = stages["build"]["units"]
    return {"comments_per_month": comments, "buckets": buckets, "stages": stages,
            "disk": disk_per_stage(corpus, root / "export2.tsv", n)}


def monthly_incremental(label: str, dumps: Path, work: Path, buckets: int, workers: int) -> dict:
    """The third month added to a copy of corpus2: only what changed is redone."""
    root = work / label
    inc = root / "corpus-incremental"
    shutil.rmtree(inc, ignore_errors=True)
    log(f"{label}: monthly job: copy corpus2, add {MONTHS[2]}")
    shutil.copytree(root / "corpus2", inc, symlinks=True)
    return run_pipeline(inc, dumps_of(dumps, MONTHS[2:]), buckets, workers,
                        root / "export-incremental.tsv")


def monthly_scratch(label: str, dumps: Path, work: Path, buckets: int, workers: int) -> dict:
    """The same three months from scratch: what the incremental run must equal."""
    root = work / label
    scratch = root / "corpus3"
    shutil.rmtree(scratch, ignore_errors=True)
    log(f"{label}: the three months from scratch")
    return run_pipeline(scratch, dumps_of(dumps, MONTHS), buckets, workers, root / "export3.tsv")


def compare_monthly(label: str, work: Path) -> dict:
    """Every compared file of the incremental corpus against the from-scratch one."""
    root = work / label
    inc, scratch = root / "corpus-incremental", root / "corpus3"
    a, b = digests(inc, root / "export-incremental.tsv"), digests(scratch, root / "export3.tsv")
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    n = int(json.loads((scratch / "stats" / "build.json").read_text())["totals"]["comments"])
    return {"files_compared": len(a), "differ": differ[:20], "identical": not differ,
            "disk": disk_per_stage(scratch, root / "export3.tsv", n)}


def checks(full: dict, tenth: dict) -> dict:
    """Issue 16's memory criteria from the two sizes."""
    out = {}
    for stage in ("build", "filter"):
        a, b = full["stages"][stage]["peak_rss_mb"], tenth["stages"][stage]["peak_rss_mb"]
        out[f"{stage}_peak_full_over_tenth"] = round(a / b, 3)
        out[f"{stage}_within_1.3x"] = a <= 1.3 * b
    for label, r in (("full", full), ("tenth", tenth)):
        window = min(ZSTD_WINDOW, r["largest_input_decompressed"])
        out[f"extract_{label}_peak_mb"] = r["stages"]["extract"]["peak_rss_mb"]
        out[f"extract_{label}_window_mb"] = round(window / 2 ** 20, 1)
        out[f"extract_{label}_beyond_window_mb"] = round(
            r["stages"]["extract"]["peak_rss_mb"] - window / 2 ** 20, 1)
    return out


def decompressed_size(path: Path) -> int:
    """Bytes of a dump once decompressed, counted in a child process: decompressing here would
    fill this process' memory with the 2 GiB window, and Linux hands a process' high-water mark
    to every child it starts (the next stage's ru_maxrss would read at least that)."""
    code = ("import sys, zstandard\n"
            "r = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(open(sys.argv[1], 'rb'))\n"
            "n = 0\n"
            "while c := r.read(1 << 24):\n"
            "    n += len(c)\n"
            "print(n)\n")
    return int(subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                              capture_output=True, text=True).stdout)


def own_peak_mb() -> float:
    """This bench's own high-water mark (VmHWM): what each stage's ru_maxrss starts from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


TABLE_COLS = [("wall_s", "wall s"), ("cpu_s", "CPU s"), ("main_cpu_s", "main CPU s"), ("per_vcpu", "per vCPU-s"),
              ("peak_rss_mb", "peak RSS MB"), ("tree_rss_mb", "tree RSS MB"),
              ("read_mb", "read MB"), ("written_mb", "written MB"), ("files_added", "files"),
              ("bytes_added_mb", "kept MB"), ("folder_peak_mb", "corpus peak MB")]


def table(title: str, runs: dict[str, dict]) -> str:
    """One row per (run, stage)."""
    head = ["run", "stage", "units", *(c for _, c in TABLE_COLS), "load"]
    rows = [head]
    for name, stages in runs.items():
        for stage, r in stages.items():
            rows.append([name, stage, f"{r['units']:,} {r['unit']}",
                         *(f"{r[k]:,}" if isinstance(r[k], (int, float)) else str(r[k])
                           for k, _ in TABLE_COLS), f"{r['load_before'][0]:.1f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [title, " | ".join(c.ljust(w) for c, w in zip(rows[0], widths))]
    lines += [" | ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows[1:]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/rdial-bench-scale"),
                    help="where the synthetic dumps are kept (made once, reused)")
    ap.add_argument("--work", type=Path, default=None,
                    help="where the corpora go (default: DATA_DIR/work; rewritten each run)")
    ap.add_argument("--comments", type=int, default=20_000_000, help="comments a month (full size)")
    ap.add_argument("--small", type=int, default=None,
                    help="comments a month of the small run (default: a tenth of --comments)")
    ap.add_argument("--buckets-per-million", type=float, default=32,
                    help="thread buckets per million comments a month (default 32: 640 at 20M)")
    ap.add_argument("--workers", type=int, default=2, help="--workers of every stage")
    ap.add_argument("--parts", nargs="+", choices=PARTS + ("monthly",), default=list(PARTS),
                    help="two months at full size, at a tenth (--small), and the monthly job at "
                         "full size: incremental (from the corpus2 that `full` leaves in WORK) "
                         "and scratch; `monthly` = both")
    ap.add_argument("--monthly-on", choices=("full", "tenth"), default="full",
                    help="the size the monthly job runs at (default full)")
    ap.add_argument("--reuse", type=Path, nargs="+", default=[],
                    help="previous --json files: their parts are taken as they are (a later "
                         "file's over an earlier one's), the others run")
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    a = ap.parse_args(argv)
    try:
        import psutil  # noqa: F401 - the sampler's, imported here to fail before any stage runs
    except ImportError:
        raise SystemExit("bench_scale.py needs psutil for the process-tree RSS: "
                         "pip install -e '.[bench]'") from None
    work = a.work or a.data_dir / "work"
    result: dict = {}
    for path in a.reuse:
        result.update({k: v for k, v in json.loads(path.read_text()).items()
                       if k in PARTS + ("monthly_on",)})
    result.update({"machine": {"cpus": os.cpu_count(), "mem_gb": round(
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)},
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "argv": sys.argv[1:] if argv is None else argv})
    wanted = set(a.parts) | ({"incremental", "scratch"} if "monthly" in a.parts else set())
    for part in PARTS:
        if part not in wanted or part in result:
            continue
        on = a.monthly_on if part in ("incremental", "scratch") else part
        n = (a.small or a.comments // 10) if on == "tenth" else a.comments
        buckets = max(1, round(n / 1e6 * a.buckets_per_million))
        dumps = ensure_dumps(a.data_dir, n, a.workers, MONTHS[:2] if part in ("full", "tenth") else MONTHS)
        if part in ("incremental", "scratch"):
            run = monthly_incremental if part == "incremental" else monthly_scratch
            result[part] = run(on, dumps, work, buckets, a.workers)
            result["monthly_on"] = on
            continue
        r = two_months(part, dumps, work, n, buckets, a.workers)
        r["largest_input_decompressed"] = decompressed_size(dumps / f"RC_{MONTHS[0]}.zst")
        result[part] = r
    on = result.get("monthly_on", a.monthly_on)
    if "incremental" in result and "scratch" in result and (work / on / "corpus3").exists():
        result["monthly"] = compare_monthly(on, work)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    report(result)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    return result


# Reddit comments 2005-12 .. 2017-12, the range of DialoGPT's corpus (docs/scale.md cites the
# sources: ~1.7B Oct 2007 - May 2015, 3.68B for 2015-2018, 53.9M in 2015-01, 85.0M in 2017-11).
RANGE_COMMENTS = 3.8e9


def projection(result: dict, comments: float = RANGE_COMMENTS, cores: int = 16,
               machines=(1, 4, 16)) -> list[dict]:
    """Hours per stage for `comments` from the full-size run's CPU seconds per comment.

    A stage's CPU splits into its workers' (spread over every core) and its main process' own
    (serial: filter's corpus-wide write, export); hours on m machines of `cores` cores =
    workers' CPU / (m * cores) + main CPU. Assumes per-comment cost stays what it was measured
    at (the check against the tenth says whether it does) and the cores are otherwise idle."""
    full = result["full"]["stages"]
    n = full["build"]["units"]  # comments of the measured corpus
    rows = []
    for stage in STAGES:
        r = full[stage]
        per_comment = r["cpu_s"] / n
        main = min(r.get("main_cpu_s", 0.0), r["cpu_s"]) / n
        if stage == "export":  # one process: all of it serial
            main = per_comment
        total_cpu_h = per_comment * comments / 3600
        serial_h = main * comments / 3600
        rows.append({"stage": stage, "cpu_us_per_comment": round(per_comment * 1e6, 2),
                     "serial_us_per_comment": round(main * 1e6, 2),
                     "cpu_hours": round(total_cpu_h, 2),
                     **{f"hours_{m}x{cores}": round((total_cpu_h - serial_h) / (m * cores) + serial_h, 2)
                        for m in machines}})
    return rows


def report(result: dict) -> None:
    runs = {}
    for label in ("full", "tenth"):
        if label in result:
            runs[f"{label}: 2 months x {result[label]['comments_per_month']:,}"] = result[label]["stages"]
    if "incremental" in result:
        runs["monthly: +1 month, incremental"] = result["incremental"]
    if "scratch" in result:
        runs["monthly: 3 months, from scratch"] = result["scratch"]
    print(table("rdial stages (CPU s: the stage's processes together; per vCPU-s: units / CPU s)", runs))
    if "full" in result and "tenth" in result:
        print("\nfull / tenth:")
        for stage in STAGES:
            f, t = result["full"]["stages"][stage], result["tenth"]["stages"][stage]
            print(f"  {stage}: per vCPU {f['per_vcpu'] / t['per_vcpu']:.2f}x, peak RSS "
                  f"{f['peak_rss_mb'] / t['peak_rss_mb']:.2f}x ({t['peak_rss_mb']:.0f} -> {f['peak_rss_mb']:.0f} MB)")
        result["checks"] = checks(result["full"], result["tenth"])
        print("checks:", json.dumps(result["checks"]))
    if "monthly" in result:
        m = result["monthly"]
        inc = sum(result["incremental"][s]["cpu_s"] for s in ("extract", "build", "filter"))
        scr = sum(result["scratch"][s]["cpu_s"] for s in ("extract", "build", "filter"))
        incw = sum(result["incremental"][s]["wall_s"] for s in ("extract", "build", "filter"))
        scrw = sum(result["scratch"][s]["wall_s"] for s in ("extract", "build", "filter"))
        print(f"\nmonthly job (extract + build + filter): incremental {inc:.1f} CPU s / {incw:.1f} s wall, "
              f"from scratch {scr:.1f} CPU s / {scrw:.1f} s wall: {inc / scr:.2f}x the CPU; "
              f"{m['files_compared']} files compared: "
              f"{'byte-identical' if m['identical'] else 'DIFFER: ' + ', '.join(m['differ'])}")
    for label in ("full", "tenth"):
        if label in result:
            print(f"\ndisk, {label} (2 months):", json.dumps(result[label]["disk"]))
    if "monthly" in result:
        print("disk, 3 months from scratch:", json.dumps(result["monthly"]["disk"]))
    if "full" in result:
        rows = projection(result)
        result["projection"] = rows
        print(f"\nprojection to {RANGE_COMMENTS:.2g} comments (2005-2017) from the full-size run:")
        for r in rows:
            print("  " + ", ".join(f"{k} {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
