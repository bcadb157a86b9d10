"""Which files an extract run reads, and which of them cannot be read at all.

    python -c "from pathlib import Path; from rdial.extract.inputs import find_inputs; \\
               print(find_inputs([Path('dumps')]))"

A named file is an input; a named directory is searched recursively for dump-like names (hidden
files skipped). Every input is checked before anything is written: it exists, its format is
known (magic bytes, readers.detect_format), it holds comments or submissions, and its name
leaves room for the output names built from it.

    a named path that does not exist              usage error (exit 2): a typo stops the run
    a dump that cannot be read (0 bytes, random   a failed input, named with its reason; the
      bytes, a codec its bytes do not have,       others are extracted and the run reports it
      a name too long for its outputs)            (stats/extract.json "failed")
    a directory named like a dump (RC_x.zst/)     a failed input, unless it holds dumps
    a file in a directory not named like a dump   skipped with a note (synth's manifest.json)
      (no RC_/RS_, no codec extension) that is
      not JSON lines of comments or submissions
    a named file, comments or submissions         usage error: pass --kind
      undecidable

A dump-like name is RC_*/RS_* (any extension) or a codec extension (.zst .bz2 .xz .gz).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rdial.errors import ConfigError, InputError
from rdial.extract.normalize import kind_from_name, kind_from_record
from rdial.extract.readers import (CODEC_EXTENSIONS, CorruptInputError, detect_format, open_dump,
                                   short_path)
from rdial.publish import TMP_PREFIX

DUMP_SUFFIXES = set(CODEC_EXTENSIONS) | {".json", ".ndjson", ".jsonl"}
ARRAY_LIMIT = 1 << 30  # a JSON-array file is parsed whole; bigger ones should be NDJSON
# The longest name built from an input's: a temporary JSON file, `.tmp-<12 hex>-<name>.json`
# (staged bucket files are `NNNNN-<name>.parquet`, 14 more bytes than the name).
NAME_OVERHEAD = len(TMP_PREFIX) + 13 + len(".json")


@dataclass
class FoundInputs:
    inputs: list[tuple[Path, str, str]] = field(default_factory=list)  # (path, format, kind)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (path, one-line reason)
    notes: list[str] = field(default_factory=list)  # files skipped, empty directories


def looks_like_dump(path: Path) -> bool:
    return path.suffix.lower() in DUMP_SUFFIXES or path.name[:3].upper() in ("RC_", "RS_")


def named_like_a_dump(path: Path) -> bool:
    """RC_/RS_ or a codec extension: a file so named that cannot be read is a damaged dump."""
    return path.suffix.lower() in CODEC_EXTENSIONS or path.name[:3].upper() in ("RC_", "RS_")


def expand_inputs(paths: list[Path], notes: list[str] | None = None,
                  failed: list[tuple[Path, str]] | None = None) -> list[tuple[Path, bool]]:
    """(file, named explicitly?) pairs: files as given; directories searched recursively for
    dump-like names. A named path that does not exist is an error. A named directory with no
    dump in it is a note, or a failed input when it is itself named like a dump."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            inside = [(p, False) for p in sorted(path.rglob("*"))
                      if p.is_file() and not p.name.startswith(".") and looks_like_dump(p)]
            if not inside and named_like_a_dump(path) and failed is not None:
                failed.append((path, f"{short_path(path)}: a directory, not a dump file "
                                     "(and no dump inside it)"))
            elif not inside and notes is not None:
                notes.append(f"{short_path(path)}: no dump files in this directory")
            found.extend(inside)
        elif not path.exists():
            raise InputError(f"{short_path(path)}: no such file or directory")
        else:
            found.append((path, True))
    return found


def detect_kind(path: Path, fmt: str, override: str = "auto") -> str:
    if override != "auto":
        return override
    kind = kind_from_name(path.name)
    if kind:
        return kind
    kind = kind_from_record(_first_record(path, fmt))
    if kind is None:
        raise InputError(f"{short_path(path)}: cannot tell comments from submissions (no RC_/RS_ "
                          "name and the first record has neither 'body' nor 'title'); pass --kind")
    return kind


def _first_record(path: Path, fmt: str):
    import orjson

    reader = open_dump(path, fmt)
    buffer = b""
    chunks = reader.chunks()
    try:
        for chunk in chunks:
            buffer += chunk
            text = buffer.lstrip()
            if text.startswith(b"["):  # a JSON array: its first element
                if fmt == "plain" and path.stat().st_size <= ARRAY_LIMIT:
                    items = orjson.loads(path.read_bytes())
                    return items[0] if isinstance(items, list) and items else None
                return None
            for line in text.split(b"\n")[:-1] if b"\n" in text else []:
                if line.strip():
                    try:
                        return orjson.loads(line)
                    except orjson.JSONDecodeError:
                        return None
            if len(buffer) > 64 * 1024 * 1024:
                return None
        return orjson.loads(buffer) if buffer.strip() else None
    except (orjson.JSONDecodeError, CorruptInputError):
        return None
    finally:
        chunks.close()


def check_name_length(path: Path, corpus_root: Path) -> None:
    """InputError when the outputs named after `path` would be longer than the corpus file
    system allows (255 bytes on most): caught here, in one line, not as a write error later."""
    probe = Path(corpus_root)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        limit = os.pathconf(probe, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(os.fsencode(path.name))
    if size + NAME_OVERHEAD > limit:
        raise InputError(f"{short_path(path, 100)}: its name is {size} bytes, too long for the "
                         f"outputs named after it (this file system allows {limit}); rename it "
                         f"to at most {limit - NAME_OVERHEAD} bytes")


def find_inputs(paths: list[Path], *, kind: str = "auto", corpus_root: Path | None = None) -> FoundInputs:
    """Every input of a run, checked (see the module docstring) before anything is written."""
    found = FoundInputs()
    seen: dict[str, Path] = {}
    for path, explicit in expand_inputs(paths, found.notes, found.failed):
        try:
            if corpus_root is not None:
                check_name_length(path, corpus_root)
            fmt = detect_format(path)
        except InputError as exc:
            if explicit or named_like_a_dump(path):
                found.failed.append((path, str(exc)))
            else:
                found.notes.append(f"{short_path(path)}: skipped, not a dump ({exc})")
            continue
        try:
            detected = detect_kind(path, fmt, kind)
        except InputError as exc:
            if explicit:
                raise
            found.notes.append(f"{short_path(path)}: skipped, not a dump ({exc})")
            continue
        if path.name in seen:
            raise ConfigError(f"DUMP_OR_DIR: {path} and {seen[path.name]} share the file name "
                              f"{path.name!r}, which names its outputs; rename one")
        seen[path.name] = path
        found.inputs.append((path, fmt, detected))
    for path, _ in found.failed:
        if path.name in seen:
            raise ConfigError(f"DUMP_OR_DIR: {path} and {seen[path.name]} share the file name "
                              f"{path.name!r}, which names its outputs; rename one")
    if not found.inputs and not found.failed:
        raise InputError("no dump files found in " + ", ".join(short_path(p) for p in paths))
    return found
