"""Damaged dumps, every codec: truncated and flipped at seeded offsets, the rows published are
exactly the lines an independent decoder (fed 1 KiB at a time) yields before the damage that the
codec's checks vouch for (the table in docs/extract.md), and none is altered."""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import zlib

import orjson
import pytest
import zstandard

from rdial.extract import readers
from rdial.extract.stage import ExtractConfig, run_extract

WORDS = ("the of and to in is you that it he was for on are as with his they at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so").split()
XZ_CHUNK_MAX = 64 * 1024 + 6  # LZMA2: packed chunk at most 64 KiB, header at most 6 bytes


def month_lines(n: int = 2600) -> list[bytes]:
    rng = random.Random(7)
    return [orjson.dumps({"id": f"c{i:x}", "link_id": f"t3_{i % 97:x}", "parent_id": f"t3_{i % 97:x}",
                          "body": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))),
                          "author": f"user{rng.randrange(500)}", "subreddit": "reddit.com",
                          "created_utc": 1134365188 + i, "score": rng.randint(-5, 50)})
            for i in range(n)]


def compress(codec: str, data: bytes) -> bytes:
    if codec == "zst":  # as Pushshift writes: 2 GiB window, content checksum
        params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_checksum=True)
        return zstandard.ZstdCompressor(compression_params=params).compress(data)
    if codec == "bz2":
        return bz2.compress(data, 1)  # 100 kB blocks: several in the file
    if codec == "xz":
        return lzma.compress(data)
    return gzip.compress(data)


def decoder(codec: str):
    return {"zst": lambda: zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj(),
            "bz2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor,
            "gz": lambda: zlib.decompressobj(wbits=31)}[codec]()


def vouched_prefix(codec: str, blob: bytes) -> bytes:
    """Feed `blob` 1 KiB at a time to the codec's own decoder; return the decoded bytes that
    its checks vouch for, by the rules of the damage table:
      truncated: all of them; zst checksum failure or any gz error: none (one frame here);
      zst structural error: all but the last block decoded; bz2: all (every block's CRC is
      checked before its output comes out); xz: all but what came from the last 64 KiB chunk."""
    d, pieces = decoder(codec), []  # (compressed offset of the call, its output)
    for pos in range(0, len(blob), 1024):
        try:
            out = d.decompress(blob[pos:pos + 1024])
        except (zstandard.ZstdError, OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            if codec == "gz" or "checksum" in str(exc):
                return b""
            if codec == "zst":
                pieces = pieces[:-1]
            if codec == "xz":
                pieces = [(p, o) for p, o in pieces if p + 1024 <= pos - XZ_CHUNK_MAX]
            return b"".join(o for _, o in pieces)
        if out:
            pieces.append((pos, out))
        if d.eof:
            break
    return b"".join(o for _, o in pieces)  # whole, or cut short (truncated)


def damaged(codec: str, blob: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    """Three cuts and four flipped bytes at seeded offsets (past the frame header)."""
    cases = []
    for _ in range(3):
        cut = rng.randrange(20, len(blob))
        cases.append((f"cut at {cut}", blob[:cut]))
    for _ in range(4):
        at = rng.randrange(20, len(blob) - 8)
        flipped = bytearray(blob)
        flipped[at] ^= 1 << rng.randrange(8)
        cases.append((f"bit flipped at {at}", bytes(flipped)))
    return cases


@pytest.mark.parametrize("codec", ["zst", "bz2", "xz", "gz"])
def test_damaged_dump_publishes_exactly_the_vouched_lines_unaltered(rx, tmp_path, monkeypatch, codec):
    # 16 KiB steps instead of 256 KiB: the file takes many steps, as a real dump does, so the
    # salvage decodes a frame again up to the failing step and the checks come late
    monkeypatch.setattr(readers, "COMPRESSED_STEP", 16 * 1024)
    lines = month_lines()
    data = b"\n".join(lines) + b"\n"
    blob = compress(codec, data)
    rng = random.Random({"zst": 1, "bz2": 2, "xz": 3, "gz": 4}[codec])
    kinds = set()
    for i, (what, bad) in enumerate(damaged(codec, blob, rng)):
        prefix = vouched_prefix(codec, bad)
        assert data.startswith(prefix[:prefix.rfind(b"\n") + 1]), what  # the rules vouch truly
        expected = prefix.count(b"\n")  # lines wholly inside the vouched prefix
        dumps = tmp_path / f"d{i}"
        dumps.mkdir()
        (dumps / f"RC_2005-12.{codec}").write_bytes(bad)
        report = run_extract(ExtractConfig(inputs=[dumps], out=tmp_path / f"c{i}", buckets=1,
                                           workers=1, progress=False))
        result = report.results[0]
        table = rx.read_table(tmp_path / f"c{i}")
        got = table.num_rows and table.select(["line", "id", "body", "score"]).to_pylist()
        want = [{"line": n + 1, "id": r["id"], "body": r["body"], "score": r["score"]}
                for n, r in enumerate(map(orjson.loads, lines[:expected]))]
        assert (got or []) == want, what
        if bad != blob:  # a flip that decodes cleanly and passes the checks cannot happen here
            assert result.status == "failed", what
            stats = result.stats
            assert stats["good"] == expected, what
            assert (stats["lines"] == stats["good"] + stats["blank"] + stats["quarantined_total"]
                    + stats["untrusted_rows"]), what
            kinds.add("untrusted" if stats["untrusted_rows"] else "kept")
    assert kinds  # the cases damaged the file


@pytest.mark.parametrize("codec", ["zst", "gz"])
def test_a_failed_check_drops_its_own_frame_only(rx, tmp_path, monkeypatch, codec):
    """Two frames (members); the second's checksum (CRC) is damaged. The first frame's rows are
    kept; the line cut across the frame border and every row of the second frame are not,
    though most of them were decoded (in 4 KiB steps) before the check came."""
    monkeypatch.setattr(readers, "COMPRESSED_STEP", 4 * 1024)
    lines = month_lines(1200)
    data = b"\n".join(lines) + b"\n"
    cut = len(b"\n".join(lines[:700])) + 10  # 10 bytes into line 701
    second = bytearray(compress(codec, data[cut:]))
    second[-8 if codec == "gz" else -2] ^= 0x20  # gz: CRC32 then ISIZE; zst: XXH64's low bytes
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / f"RC_2005-12.{codec}").write_bytes(compress(codec, data[:cut]) + bytes(second))
    report = run_extract(ExtractConfig(inputs=[dumps], out=tmp_path / "c", buckets=4, workers=1,
                                       progress=False))
    result = report.results[0]
    assert result.status == "failed"
    assert ("checksum" if codec == "zst" else "incorrect data check") in result.message
    assert rx.read_table(tmp_path / "c").column("line").to_pylist() == list(range(1, 701))
    stats = result.stats
    assert stats["good"] == 700 and stats["untrusted_from_line"] == 701
    assert 400 < stats["untrusted_rows"] < 500  # decoded, held, then dropped
    assert stats["lines"] == 700 + stats["untrusted_rows"] + stats["quarantined_total"]


@pytest.mark.real
def test_real_dump_with_flipped_bits_publishes_only_unaltered_vouched_rows(real_data, tmp_path):
    """The real RC_2006-01.zst (content checksum on) with one bit flipped at seeded offsets."""
    blob = (real_data / "pushshift" / "RC_2006-01.zst").read_bytes()
    data = zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj().decompress(blob)
    lines = data.splitlines()
    rng = random.Random(14)
    kinds = []
    for i in range(4):
        bad = bytearray(blob)
        bad[rng.randrange(20, len(blob))] ^= 1 << rng.randrange(8)
        (tmp_path / f"d{i}").mkdir()
        (tmp_path / f"d{i}" / "RC_2006-01.zst").write_bytes(bad)
        report = run_extract(ExtractConfig(inputs=[tmp_path / f"d{i}"], out=tmp_path / f"c{i}",
                                           buckets=2, workers=1, progress=False))
        expected = vouched_prefix("zst", bytes(bad)).count(b"\n")
        got = [(r["line"], r["id"]) for r in rx_rows(tmp_path / f"c{i}")]
        assert got == [(n + 1, orjson.loads(line)["id"]) for n, line in enumerate(lines[:expected])]
        assert report.results[0].status == "failed"
        kinds.append("checksum" if "checksum" in report.results[0].message else "structural")
    assert kinds == ["checksum", "checksum", "checksum", "structural"]


def rx_rows(corpus):
    import pyarrow.dataset as ds

    files = sorted(str(p) for p in corpus.glob("comments/bucket=*/*.parquet"))
    if not files:
        return []
    return ds.dataset(files).to_table().sort_by("line").select(["line", "id"]).to_pylist()
