"""Publishing one input (worker): finish its staged files, then rename them into the corpus.

    ls corpus/comments/bucket=00017/       # RC_2005-12.zst.parquet appears whole, or not at all

Bucket files first, then the quarantine file; the caller writes the input's stats and, last,
its ledger entry. A full disk or a read-only corpus becomes one line naming the path.
"""

from __future__ import annotations

from pathlib import Path

from rdial.corpus import Corpus
from rdial.extract.bucket_writer import BucketedParquetWriter
from rdial.extract.quarantine import QuarantineWriter
from rdial.publish import explain_os_error


def publish_outputs(corpus: Corpus, writer: BucketedParquetWriter,
                    quarantine: QuarantineWriter) -> list[str]:
    """Finish the staged files, then rename them into the corpus. Returns relative paths."""
    try:
        writer.close()
        quarantine.close()
        outputs = writer.publish()
        if (q := quarantine.publish()) is not None:
            outputs.append(str(Path(q).relative_to(corpus.root)))
    except OSError as exc:
        raise explain_os_error(exc, corpus.root) from exc
    return outputs
