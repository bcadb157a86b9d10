"""Errors that reach the user as one clear line.

`rdial extract RC_2005-12.zst --out corpus`: anything raised as RdialError is printed as
`rdial: error: <message>` and exits with status 2; everything else is a bug and keeps its traceback.
"""


class RdialError(Exception):
    """A failure the user can act on; the message names the file, line, field or flag."""


class ConfigError(RdialError):
    """A bad setting. The message starts with the flag to change, e.g. `--buckets: ...`."""


class InputError(RdialError):
    """An input that cannot be read at all (missing, unknown format)."""
