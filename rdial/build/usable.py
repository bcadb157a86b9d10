"""Which comments can be a turn: the body, stripped, is not empty, `[deleted]` or `[removed]`.

    python -c "import polars as pl; from rdial.build.usable import body_reasons; \
print(body_reasons(pl.DataFrame({'body': [' hi ', '[deleted]', '', None]})))"

Each unusable comment gets the name of its reason (counted in the build stats); a usable one
gets null. An unusable comment breaks its thread: its usable replies start new chains.
"""

from __future__ import annotations

import numpy as np
import polars as pl

REASONS = ("empty_body", "deleted", "removed")

# One anchored regex pass finds the few unusable bodies (\s is Unicode whitespace, as in
# str.strip_chars); it gives up at the first other character, so long bodies cost little.
_UNUSABLE = pl.col("body").str.contains(r"^\s*(?:\[deleted\]|\[removed\])?\s*$").fill_null(True)


def _reason() -> pl.Expr:
    stripped = pl.col("body").str.strip_chars()
    return (pl.when(stripped == "[deleted]").then(pl.lit("deleted"))
            .when(stripped == "[removed]").then(pl.lit("removed"))
            .otherwise(pl.lit("empty_body")))


def body_reasons(comments: pl.DataFrame) -> pl.Series:
    """Per row of `comments` (column `body`): "empty_body", "deleted", "removed", or null."""
    unusable = np.flatnonzero(comments.select(_UNUSABLE).to_series().to_numpy())
    reasons = pl.repeat(None, comments.height, dtype=pl.String, eager=True).alias("drop_reason")
    if len(unusable):
        named = comments[pl.Series(unusable)].select(_reason()).to_series()
        reasons = reasons.scatter(pl.Series(unusable), named)
    return reasons
