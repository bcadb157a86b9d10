"""Which comments can be a turn: the body, stripped, is not empty, `[deleted]` or `[removed]`.

    python -c "import polars as pl; from rdial.build.usable import body_reason; \
print(pl.DataFrame({'body': [' hi ', '[deleted]', '', None]}).select(body_reason()))"

Each unusable comment gets the name of its reason (counted in the build stats); a usable one
gets null. An unusable comment breaks its thread: its usable replies start new chains.
"""

from __future__ import annotations

import polars as pl

REASONS = ("empty_body", "deleted", "removed")


def body_reason() -> pl.Expr:
    """Expression over `body`: "empty_body", "deleted", "removed", or null when usable."""
    stripped = pl.col("body").str.strip_chars()
    return (pl.when(stripped.is_null() | (stripped == "")).then(pl.lit("empty_body"))
            .when(stripped == "[deleted]").then(pl.lit("deleted"))
            .when(stripped == "[removed]").then(pl.lit("removed"))
            .otherwise(pl.lit(None, dtype=pl.String))
            .alias("drop_reason"))
