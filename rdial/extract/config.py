"""ExtractConfig: the settings of `rdial extract`, one field a flag.

    rdial extract --help        # every flag listed there is a field below
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import arg, require
from rdial.executor import default_workers
from rdial.extract.bucket_writer import DEFAULT_BUFFER_BYTES
from rdial.progress import PROGRESS_HELP

STAGE = "extract"


@dataclass(kw_only=True)
class ExtractConfig:
    inputs: list[Path] = field(metadata=arg(
        "dump files (RC_*/RS_* .zst .bz2 .xz .gz .json .ndjson) or directories holding them",
        positional=True, metavar="DUMP_OR_DIR"))
    out: Path = field(metadata=arg("corpus directory (created if absent)", metavar="CORPUS"))
    buckets: int | None = field(default=None, metadata=arg(
        "thread buckets, fixed when the corpus is created (default: from the largest month's "
        "input, 8 MiB of it a bucket, a power of two from 8 to 1024: 8 for a sample, 1024 for "
        "a full 2017 month; an existing corpus keeps its count)"))
    workers: int = field(default_factory=default_workers, metadata=arg(
        "input files extracted in parallel, one process each (default here: all cores)"))
    executor: str = field(default="local", metadata=arg(
        "where tasks run: a local process pool or a Ray cluster", choices=["local", "ray"]))
    force: bool = field(default=False, metadata=arg(
        "redo inputs the ledger records as finished and unchanged"))
    kind: str = field(default="auto", metadata=arg(
        "what the inputs hold: auto decides by name (RC_/RS_, 'comment'/'submission') then by "
        "the first record (title -> submissions, body -> comments)",
        choices=["auto", "comments", "submissions"]))
    max_line_bytes: int = field(default=1024 * 1024, metadata=arg(
        "lines longer than this are quarantined as line_too_long"))
    threads: int | None = field(default=None, metadata=arg(
        "threads per input that parse blocks ahead and write bucket files (default: the cores "
        "shared among the inputs extracted at once, at least 2; 2 on Ray)"))
    decode_procs: str = field(default="auto", metadata=arg(
        "worker processes decoding the blocks of one input, beside it (msgspec and the Arrow "
        "conversion hold the GIL, so threads in one process take turns): N, 0 for none (decode "
        "in the input's own threads), or auto: the cores each input has when 2 or more (e.g. one "
        "input on 2 cores), for inputs of at least 16 MiB, when the load average is below the "
        "cores; none when the inputs extracted at once already fill the cores, and none on Ray; "
        "the output does not depend on it", metavar="auto|N"))
    buffer_mb: int = field(default=DEFAULT_BUFFER_BYTES >> 20, metadata=arg(
        "rows held in memory per input before they are appended to the bucket files (MiB)"))
    progress: bool = field(default=True, metadata=arg(PROGRESS_HELP))

    def __post_init__(self):
        self.inputs = [Path(p) for p in self.inputs]
        self.out = Path(self.out)
        require(len(self.inputs) > 0, "DUMP_OR_DIR", "give at least one dump file or directory")
        require(self.buckets is None or 1 <= self.buckets <= 99999, "--buckets",
                "must be between 1 and 99999")
        require(self.workers >= 1, "--workers", "must be at least 1")
        require(self.max_line_bytes >= 1024, "--max-line-bytes", "must be at least 1024")
        require(self.buffer_mb >= 1, "--buffer-mb", "must be at least 1")
        require(self.threads is None or self.threads >= 1, "--threads", "must be at least 1")
        self.decode_procs = str(self.decode_procs).strip().lower()
        require(self.decode_procs == "auto" or (self.decode_procs.isdigit()
                                                and int(self.decode_procs) <= 64),
                "--decode-procs", f"must be auto or a number from 0 to 64, not {self.decode_procs!r}")
