"""PipelineConfig: one TOML file names the dumps, the corpus, the preset and every stage's settings.

    rdial run pipeline.toml --print-config      # the resolved config, as JSON

    dumps  = ["/data/reddit/comments", "/data/reddit/submissions"]   # files or folders
    corpus = "/data/rdial/corpus"
    preset = "rdial"          # build and filter both use it (the corpus must agree)
    workers = 2               # every stage (default: all cores); executor = "local" or "ray"

    [extract]                 # any ExtractConfig key but inputs/out (`rdial extract --help`)
    buckets = 1024
    [build]                   # any BuildConfig key but corpus/preset
    max_turns = 5
    [filter]                  # any FilterConfig key but corpus/preset; `config` also feeds
    config = "filters.toml"   #   build's comment rules, so the two stages judge alike
    [[export]]                # `rdial export` flags; one table per file
    format = "dialogpt-tsv"
    split = "train"
    out = "/data/rdial/train.tsv"
    [train]                   # `rdial train` flags, plus `steps`: train this many more steps
    out = "/data/rdial/run"   #   each time the shards changed (--resume after the first run)
    steps = 1000
    model = "small"

Relative paths are relative to the TOML file's folder. Unknown keys, keys of the wrong type
and flags the commands do not have are refused when the file is read, with one line naming
the file, the table and the key, before any stage starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import to_jsonable
from rdial.errors import ConfigError

TOP_KEYS = ("dumps", "corpus", "preset", "workers", "executor")
TABLES = ("extract", "build", "filter", "export", "train")
# keys of a stage table that the pipeline sets itself
OWNED = {"extract": ("inputs", "out"), "build": ("corpus", "preset"),
         "filter": ("corpus", "preset")}


@dataclass(kw_only=True)
class PipelineConfig:
    source: Path                                   # the TOML file
    extract: object                                # ExtractConfig
    build: object                                  # BuildConfig
    filter: object                                 # FilterConfig
    exports: list[list[str]] = field(default_factory=list)  # `rdial export` argv, one per file
    train: list[str] | None = None                 # `rdial train` argv, without --max-steps
    train_steps: int = 0                           # steps to add each time the shards change
    train_out: Path | None = None

    @property
    def corpus(self) -> Path:
        return self.build.corpus

    def to_json(self) -> dict:
        return {"source": str(self.source), "corpus": str(self.corpus),
                "extract": to_jsonable(self.extract), "build": to_jsonable(self.build),
                "filter": to_jsonable(self.filter), "export": self.exports,
                "train": None if self.train is None else {
                    "argv": self.train, "steps": self.train_steps}}


def load_pipeline(path: Path, *, force: bool = False, progress: bool = True) -> PipelineConfig:
    """Read and check `path`; every error is one ConfigError naming the file and the key."""
    from rdial.build.stage import BuildConfig
    from rdial.extract.config import ExtractConfig
    from rdial.filter.stage import FilterConfig

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    where = path.name
    unknown = sorted(set(doc) - set(TOP_KEYS) - set(TABLES))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (top-level keys: "
                          f"{', '.join(TOP_KEYS)}; tables: {', '.join(TABLES)})")
    for key in ("dumps", "corpus"):
        if key not in doc:
            raise ConfigError(f"{where}: `{key}` is missing (the {'dump files or folders' if key == 'dumps' else 'corpus folder'})")
    base = path.resolve().parent
    dumps = doc["dumps"] if isinstance(doc["dumps"], list) else [doc["dumps"]]
    _check(where, "dumps", dumps, list[str])
    _check(where, "corpus", doc["corpus"], str)
    corpus = _path(base, doc["corpus"])
    shared = {}
    for key, tp in (("workers", int), ("executor", str)):
        if key in doc:
            _check(where, key, doc[key], tp)
            shared[key] = doc[key]
    preset = doc.get("preset")
    if preset is not None:
        _check(where, "preset", preset, str)
    common = {"force": force, **shared}

    ex = _table(where, doc, "extract", ExtractConfig, base)
    filt = _table(where, doc, "filter", FilterConfig, base)
    bld = _table(where, doc, "build", BuildConfig, base)
    if "filter_config" in bld:
        raise ConfigError(f"{where}: [build] filter_config: set [filter] config instead; build's "
                          "comment rules take it from there")
    try:
        extract = ExtractConfig(inputs=[_path(base, d) for d in dumps], out=corpus,
                                **{"progress": progress, **common, **ex})
        filter_ = FilterConfig(corpus=corpus, preset=preset, **{"progress": progress, **common, **filt})
        build = BuildConfig(corpus=corpus, preset=preset, filter_config=filter_.config,
                            **{**common, **bld})
    except ConfigError as exc:  # "--flag: ..." -> the key of the file
        raise ConfigError(f"{where}: {exc}") from None

    exports = doc.get("export", [])
    if isinstance(exports, dict):
        exports = [exports]
    if not isinstance(exports, list) or not all(isinstance(e, dict) for e in exports):
        raise ConfigError(f"{where}: [[export]] must be tables (one [[export]] per file)")
    export_argv = [[str(corpus)] + _argv(where, "export", e, base) for e in exports]
    for argv in export_argv:
        _parse_as(where, "export", argv)
    train, steps, train_out = None, 0, None
    if "train" in doc:
        table = dict(doc["train"])
        steps = table.pop("steps", None)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ConfigError(f"{where}: [train] steps: give the optimizer steps to add each run "
                              "(an integer >= 1)")
        for key in ("shards", "resume", "max_steps", "max-steps", "accept_changed_shards",
                    "accept-changed-shards"):
            if key in table:
                raise ConfigError(f"{where}: [train] {key}: set by `rdial run` (shards: the "
                                  "corpus's; resume, accept-changed-shards: after the first run; "
                                  "max-steps: from steps)")
        if "out" not in table:
            raise ConfigError(f"{where}: [train] out: the run folder is missing")
        train_out = _path(base, table["out"])
        train = ["--shards", str(corpus / "shards")] + _argv(where, "train", table, base)
        _parse_as(where, "train", train + ["--resume", "--steps", str(steps)])
    return PipelineConfig(source=path, extract=extract, build=build, filter=filter_,
                          exports=export_argv, train=train, train_steps=steps, train_out=train_out)


def _path(base: Path, value) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _table(where: str, doc: dict, name: str, cls, base: Path) -> dict:
    """The [name] table as keyword arguments of `cls`, each key checked against its type."""
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: `{name}` must be a table ([{name}])")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    allowed = [n for n in fields if n not in OWNED.get(name, ()) and n not in TOP_KEYS]
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in table.items():
        name_ = key.replace("-", "_")
        if name_ not in allowed:
            raise ConfigError(f"{where}: [{name}] unknown key {key!r} (keys: {', '.join(allowed)})")
        _check(where, f"[{name}] {key}", value, hints[name_])
        tp = _unwrap(hints[name_])
        out[name_] = _path(base, value) if tp is Path else (
            tuple(value) if typing.get_origin(tp) is tuple else value)
    return out


def _unwrap(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _check(where: str, key: str, value, tp) -> None:
    """One line naming the key when `value` is not of the type `tp` (bool is not a number)."""
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType) and \
        type(None) in typing.get_args(tp)
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        inner = _unwrap(typing.get_args(tp)[0])
        ok = isinstance(value, list) and all(_is(v, inner) for v in value)
        want = f"a list of {_name(inner)}"
    else:
        ok = _is(value, tp)
        want = _name(tp)
    if not ok and not (optional and value is None):
        raise ConfigError(f"{where}: {key}: expected {want}, got {value!r}")


def _is(value, tp) -> bool:
    if tp is Path:
        tp = str
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp) if isinstance(tp, type) else True


def _name(tp) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            Path: "a path (string)"}.get(tp, getattr(tp, "__name__", str(tp)))


def _argv(where: str, table: str, values: dict, base: Path) -> list[str]:
    """A TOML table as command-line flags: key = value -> --key value; true -> --key,
    false -> --no-key; a list -> --key a b; paths in `out`-like keys made absolute."""
    argv = []
    for key, value in values.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list):
            argv += [flag, *map(str, value)]
        elif isinstance(value, (int, float, str)):
            text = str(value)
            if key in ("out", "model", "tokenizer") and isinstance(value, str) and \
                    ("/" in value or key == "out") and value != "-":
                text = str(_path(base, value))
            argv += [flag, text]
        else:
            raise ConfigError(f"{where}: [{table}] {key}: expected a number, string, boolean or "
                              f"list, got {value!r}")
    return argv


def _parse_as(where: str, command: str, argv: list[str]) -> argparse.Namespace:
    """Check `argv` with the command's own parser, now: errors name the TOML table."""
    from rdial.cli import command_parser

    parser, _ = command_parser(command)
    parser.exit_on_error = False
    try:
        return parser.parse_args(argv)
    except (argparse.ArgumentError, ConfigError) as exc:
        raise ConfigError(f"{where}: [{command}] {exc}") from None
