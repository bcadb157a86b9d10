"""Bad lines of one input, kept verbatim: `CORPUS/quarantine/<input name>.jsonl`.

    rdial extract RC_2005-12.zst --out corpus && head -3 corpus/quarantine/RC_2005-12.zst.jsonl

One JSON object a line, in input order:
    {"line": 17, "reason": "bad_json", "detail": "unexpected character ...", "raw": "{\\"id\\": ..."}
    {"line": 18, "reason": "bad_utf8", "raw_base64": "eyJpZCI6..."}
`raw` is the line exactly as read (without its newline) when it is valid UTF-8; otherwise
`raw_base64` holds its bytes. Nothing is lost: every line of an input is either a row of a
table, a blank line (counted in the stats), or here.

Reasons: line_too_long, nul_byte, bad_utf8, too_deep, glued_records, bad_json, not_an_object,
bad_field:<f>, missing_field:<f>, truncated (the partial last line before damage in a
compressed file); rdial/extract/parse.py says what each means.
The file is written under a temporary name and published with the input's other outputs; an
input without bad lines has no quarantine file.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson

from rdial.publish import explain_os_error, temporary_name


class QuarantineWriter:
    def __init__(self, final: Path, staging: Path | None = None):
        """`staging`: a directory for the temporary file (same file system as `final`), so that
        a killed run's leftovers go away with it; by default a temporary name beside `final`."""
        self.final = Path(final)
        self.tmp = Path(staging) / self.final.name if staging else temporary_name(self.final)
        self.counts: dict[str, int] = {}
        self._fh = None

    def add(self, line_no: int, reason: str, raw: bytes, detail: str | None = None) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        record: dict = {"line": line_no, "reason": reason}
        if detail:
            record["detail"] = detail
        try:
            record["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            record["raw_base64"] = base64.b64encode(raw).decode("ascii")
        try:
            if self._fh is None:
                self.tmp.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.tmp, "wb")
            self._fh.write(orjson.dumps(record) + b"\n")
        except OSError as exc:
            raise explain_os_error(exc, self.tmp) from exc

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        """Flush the temporary file (everything but the rename)."""
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
            except OSError as exc:
                raise explain_os_error(exc, self.tmp) from exc
            self._fh = None

    def publish(self) -> str | None:
        """Rename into place (or remove a stale file when there were no bad lines)."""
        self.close()
        try:
            if self.tmp.exists():
                self.final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.tmp, self.final)
                return str(self.final)
            if self.final.exists():
                self.final.unlink()
        except OSError as exc:
            raise explain_os_error(exc, self.final) from exc
        return None

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.tmp.unlink(missing_ok=True)
