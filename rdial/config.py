"""Stage configs are keyword-only dataclasses; this module maps them onto argparse and back.

    rdial build --help          # every flag listed there is a field of BuildConfig

A field declares its flag with `metadata=arg("help text")`; the flag is the field name with
dashes (`max_turns` -> `--max-turns`). Booleans get `--x/--no-x`, lists take several values,
`Path` fields are parsed into `Path`. Validation lives in each config's `__post_init__` and
raises `ConfigError("--flag: what is wrong and what to do")`, so errors name the flag to change.
Runs save the resolved config as JSON beside their output with `save_config`.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from rdial.errors import ConfigError

_NO_DEFAULT = object()


def arg(help: str, *, flag: str | None = None, short: str | None = None, choices=None,
        metavar: str | None = None, positional: bool = False, cli: bool = True) -> dict:
    """Field metadata for the CLI: `field(default=2, metadata=arg("minimum turns"))`."""
    return {"help": help, "flag": flag, "short": short, "choices": choices, "metavar": metavar,
            "positional": positional, "cli": cli}


def flag_of(field: dataclasses.Field) -> str:
    meta = field.metadata or {}
    if meta.get("positional"):
        return field.name.upper()
    return meta.get("flag") or "--" + field.name.replace("_", "-")


def _resolved_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp):
    """`int | None` -> (int, True); `int` -> (int, False)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _scalar_parser(tp):
    if tp is Path:
        return Path
    if tp in (int, float, str):
        return tp
    return str


def add_config_arguments(parser: argparse.ArgumentParser, cls, *, skip: tuple[str, ...] = ()) -> None:
    """Add one flag per field of the dataclass `cls` that has `arg(...)` metadata."""
    hints = _resolved_types(cls)
    for field in dataclasses.fields(cls):
        meta = field.metadata or {}
        if "help" not in meta or not meta.get("cli", True) or field.name in skip:
            continue
        tp, optional = _unwrap_optional(hints[field.name])
        default = _default_of(field)
        kwargs: dict[str, Any] = {"help": meta["help"], "dest": field.name}
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        origin = typing.get_origin(tp)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin in (list, tuple):
            (inner,) = typing.get_args(tp)[:1]
            kwargs["type"] = _scalar_parser(inner)
            kwargs["nargs"] = "+" if not meta.get("positional") else "+"
        else:
            kwargs["type"] = _scalar_parser(tp)
        if default is not _NO_DEFAULT:
            kwargs["default"] = default
            # a help that already says its default (e.g. "default here: all cores") keeps it
            if tp is not bool and default not in (None, [], ()) and "(default" not in meta["help"]:
                kwargs["help"] += f" (default: {_show(default)})"
        if meta.get("positional"):
            kwargs.pop("dest")
            parser.add_argument(field.name, **kwargs)
            continue
        names = [flag_of(field)] + ([meta["short"]] if meta.get("short") else [])
        if default is _NO_DEFAULT:
            kwargs["required"] = True
        parser.add_argument(*names, **kwargs)


def _default_of(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return _NO_DEFAULT


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def config_from_args(cls, args: argparse.Namespace, **overrides):
    """Build `cls` from parsed args: every field present in `args` (or `overrides`) is passed."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif hasattr(args, field.name):
            value = getattr(args, field.name)
            if isinstance(value, list) and typing.get_origin(
                    _unwrap_optional(_resolved_types(cls)[field.name])[0]) is tuple:
                value = tuple(value)
            values[field.name] = value
    return cls(**values)


def to_jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def save_config(cfg, path: Path) -> None:
    """Write the resolved config as JSON, atomically (`CORPUS/build.config.json`, ...)."""
    from rdial.publish import atomic_write_json

    atomic_write_json(Path(path), to_jsonable(cfg))


def require(condition: bool, flag: str, message: str) -> None:
    """`require(self.workers >= 1, "--workers", "must be at least 1")` raises ConfigError."""
    if not condition:
        raise ConfigError(f"{flag}: {message}")
