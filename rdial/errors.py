"""Errors that reach the user as one clear line.

`rdial extract RC_2005-12.zst --out corpus`: anything raised as RdialError is printed as
`rdial: error: <message>` and exits with status 2 (or the error's own `exit_code`); everything
else is a bug and keeps its traceback.
"""


class RdialError(Exception):
    """A failure the user can act on; the message names the file, line, field or flag."""

    exit_code = 2


class ConfigError(RdialError):
    """A bad setting. The message starts with the flag to change, e.g. `--buckets: ...`."""


class InputError(RdialError):
    """An input that cannot be read at all (missing, unknown format)."""


class LockedError(RdialError):
    """Another run holds the corpus or run directory: try again later (EX_TEMPFAIL)."""

    exit_code = 75
