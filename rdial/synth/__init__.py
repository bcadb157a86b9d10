"""rdial.synth: synthetic Pushshift dumps for tests, the demo and benchmarks (no network needed).

    rdial synth --out dumps --months 2005-12 2006-01 --comments 5000 --manifest

Python API (everything deterministic by seed):

    from rdial.synth import SynthConfig, generate_dumps, synth_comments, synth_lines, Manifest

    # files on disk: RC_/RS_<month>.<zst|bz2|xz|gz|json>, optional manifest.json
    m = generate_dumps(SynthConfig(out=tmp_path, months=["2005-12", "2006-01"], comments=2000,
                                   format="zst", seed=1, manifest=True))
    m.lines("RC_2005-12.zst")                 # 2000: exactly `comments` lines per RC file
    m.ids("deleted", "2005-12")               # set of comment ids with body "[deleted]"
    m.ids("cross_month_replies", "2006-01")   # replies whose parent is in 2005-12
    m.counts("2006-01")                       # {"deleted": 80, "duplicates": 20, ...}

    # in memory, no files: parsed comment dicts of one month, exactly as the RC lines hold them
    rows = synth_comments(300, month="2019-10", seed=3, deleted_rate=0.0)

    # in memory, raw lines of every file (bytes, no "\\n") + the manifest
    lines, m = synth_lines(SynthConfig(out=tmp_path, months=["2005-12"], comments=500))

SynthConfig fields (= `rdial synth` flags): out, months, format, comments, submissions_ratio,
seed, era (auto|2005|2009|2019|2024|mixed), manifest, level, deleted_rate, removed_rate,
duplicate_rate, missing_parent_rate, cross_month_rate, bot_rate, nsfw_rate, max_thread, workers.
The manifest's id lists are described in `rdial.synth.manifest`; the eras in `rdial.synth.eras`.

Modules, in pipeline order: config (SynthConfig) -> generator (SynthGenerator: plans a month in
numpy with threads.py, writes RS lines via records.py) -> emitter (RC lines chunk by chunk, text
from text.py, %-formatted by lines.py; pool.py runs chunks in worker processes) -> writers
(zst/bz2/xz/gz/json, atomic) -> dumps (generate_dumps, synth_lines, synth_comments) -> manifest.
"""

from rdial.synth.config import SynthConfig
from rdial.synth.dumps import generate_dumps, synth_comments, synth_lines
from rdial.synth.manifest import Manifest

__all__ = ["SynthConfig", "generate_dumps", "synth_comments", "synth_lines", "Manifest"]
