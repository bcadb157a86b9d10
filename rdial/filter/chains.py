"""Reading a bucket's chains file, as every filter step does.

    python -c "from rdial.filter.chains import read_chains; print(read_chains('corpus/chains/bucket=00000.parquet'))"
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from rdial import schema
from rdial.errors import InputError


def read_chains(path: Path) -> pl.DataFrame:
    """CHAINS columns of `path` in file order; InputError naming the file and column otherwise."""
    try:
        table = pq.ParquetFile(path).read()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read chains: {exc}") from exc
    missing = [n for n in schema.CHAINS.names if n not in table.column_names]
    if missing:
        raise InputError(f"{path}: column {missing[0]!r} missing (expected rdial.schema.CHAINS; "
                         f"rerun `rdial build`)")
    try:
        table = table.select(schema.CHAINS.names).cast(schema.CHAINS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"{path}: columns do not match rdial.schema.CHAINS: {exc}") from exc
    return pl.from_arrow(table)  # type: ignore[return-value]
