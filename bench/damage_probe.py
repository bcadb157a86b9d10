"""Flip one bit at seeded offsets of a real dump; count what the reader keeps and whether any of
it is altered (the figures in docs/extract.md, "A damaged file, per codec").

    python bench/damage_probe.py ../shared/data/real/pushshift/RC_2006-01.zst --flips 200 --seed 11
    python bench/damage_probe.py ../shared/data/real/pushshift/RC_2006-01.zst --codec xz --flips 60

The dump is decompressed once, recompressed with --codec (zst: the file itself, its own content
checksum), damaged, and read with rdial's reader; the output the reader vouches for
(`CorruptInputError.trusted`) is compared byte for byte with the original. Prints, per kind of
error, how many flips gave it, how many left altered lines in what is kept (must be 0), and how
many lines of the intact prefix were not kept (the price of the codec's damage window).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import random
import tempfile
from pathlib import Path

import zstandard

from rdial.extract.readers import CorruptInputError, open_dump


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", type=Path)
    ap.add_argument("--codec", choices=["zst", "bz2", "xz", "gz"], default="zst")
    ap.add_argument("--flips", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    blob = args.dump.read_bytes()
    raw = zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj().decompress(blob)
    if args.codec != "zst":
        blob = {"bz2": lambda d: bz2.compress(d, 1), "xz": lzma.compress, "gz": gzip.compress}[args.codec](raw)
    rng = random.Random(args.seed)
    kinds: dict[str, list[int]] = {}
    altered = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"RC_probe.{args.codec}"
        for _ in range(args.flips):
            bad = bytearray(blob)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            path.write_bytes(bad)
            out, kind, trusted = [], "none", None
            try:
                for chunk in open_dump(path).chunks():
                    out.append(chunk)
            except CorruptInputError as exc:
                kind, trusted = exc.kind, exc.trusted
            data = b"".join(out)
            kept = data[:len(data) if trusted is None else trusted]
            kept = kept[:kept.rfind(b"\n") + 1]
            altered += not raw.startswith(kept)
            same = 0
            while same < min(len(data), len(raw)) and data[same] == raw[same]:
                same += 1
            kinds.setdefault(kind, []).append(raw[:same].count(b"\n") - kept.count(b"\n"))
    lines = raw.count(b"\n")
    print(f"{args.dump.name} as {args.codec}: {len(blob):,} bytes, {lines:,} lines, "
          f"{args.flips} flips (seed {args.seed}); flips whose kept lines are altered: {altered}")
    for kind, lost in sorted(kinds.items()):
        print(f"  {kind:10} {len(lost):4} flips; intact-prefix lines not kept: "
              f"mean {sum(lost) / len(lost):,.0f}, max {max(lost):,}")


if __name__ == "__main__":
    main()
