"""Readers: every format, the 2 GiB zstd window, frames/members, damage with its offset."""

from __future__ import annotations

import gzip
import io

import pytest
import zstandard

from rdial.errors import InputError
from rdial.extract.readers import CorruptInputError, Prefetched, detect_format, open_dump



@pytest.fixture
def lines(rx) -> list[bytes]:
    c = rx.comment
    return [c("c1", "t3_a"), c("c2", "t3_a", "t1_c1", body="caf\u00e9 \U0001f600"), c("c3", "t3_b")]


def _data(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("ext,fmt", [("zst", "zst"), ("bz2", "bz2"), ("xz", "xz"), ("gz", "gz"),
                                     ("json", "plain"), ("ndjson", "plain")])
def test_every_format_reads_back_the_same_bytes(rx, dumps, lines, ext, fmt):
    path = rx.write_dump(dumps / f"RC_2005-12.{ext}", lines)
    assert detect_format(path) == fmt
    reader = open_dump(path)
    assert b"".join(reader.chunks()) == _data(lines)
    assert reader.offset == path.stat().st_size


def test_zst_long_window_needs_the_big_decoder(rx, dumps, lines):
    path = rx.write_dump(dumps / "RC_2005-12.zst", lines)
    assert zstandard.get_frame_parameters(path.read_bytes()).window_size == 2**31
    with pytest.raises(zstandard.ZstdError, match="memory"):
        zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes())).read()
    assert b"".join(open_dump(path).chunks()) == _data(lines)


def test_concatenated_zst_frames_and_gzip_members_are_one_stream(rx, dumps, lines):
    z = dumps / "RC_x.zst"
    z.write_bytes(rx.zst_long(lines[0] + b"\n") + zstandard.ZstdCompressor().compress(lines[1] + b"\n"))
    assert b"".join(open_dump(z).chunks()) == lines[0] + b"\n" + lines[1] + b"\n"
    g = dumps / "RC_x.gz"
    g.write_bytes(gzip.compress(lines[0] + b"\n") + gzip.compress(lines[2] + b"\n"))
    assert b"".join(open_dump(g).chunks()) == lines[0] + b"\n" + lines[2] + b"\n"


def test_magic_bytes_win_over_extension(dumps, lines):
    path = dumps / "RC_2005-12.json"
    path.write_bytes(gzip.compress(_data(lines)))
    assert detect_format(path) == "gz"
    assert b"".join(open_dump(path).chunks()) == _data(lines)


def test_unknown_formats_and_missing_files_are_input_errors(dumps, lines):
    fake_zst = dumps / "RC_2005-12.zst"
    fake_zst.write_bytes(_data(lines))  # text under a codec's name
    with pytest.raises(InputError, match=r"RC_2005-12.zst: unknown format: the name says zst"):
        detect_format(fake_zst)
    binary = dumps / "RC_2005-12.7z"
    binary.write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(100))
    with pytest.raises(InputError, match=r"RC_2005-12.7z: unknown format"):
        detect_format(binary)
    with pytest.raises(InputError, match=r"nothere.zst: no such file"):
        detect_format(dumps / "nothere.zst")


def test_truncated_zst_delivers_what_it_can_then_names_file_and_offset(rx, dumps):
    lines = [rx.comment(f"c{i}", "t3_a", body="x" * 50 + str(i)) for i in range(20000)]
    path = rx.write_dump(dumps / "RC_cut.zst", lines)
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])
    reader = open_dump(path, fmt=None)
    reader.step = 4096
    got = []
    with pytest.raises(CorruptInputError) as err:
        for chunk in reader.chunks():
            got.append(chunk)
    expected_prefix = zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj().decompress(
        full[: len(full) // 2])
    assert b"".join(got) == expected_prefix
    assert 0 < len(expected_prefix) < len(b"\n".join(lines))
    assert err.value.offset == len(full) // 2
    assert str(err.value).startswith(f"{path}: truncated zst data (the file ends inside a frame) "
                                     f"at compressed byte offset {len(full) // 2}")


def test_corrupt_gzip_names_the_chunk_offset(rx, dumps):
    lines = [rx.comment(f"c{i}", "t3_a", body=f"body {i}" * 20) for i in range(5000)]
    path = rx.write_dump(dumps / "RC_bad.gz", lines)
    data = bytearray(path.read_bytes())
    for i in range(30000, 30200):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = open_dump(path)
    reader.step = 8192
    with pytest.raises(CorruptInputError, match=r"RC_bad.gz: corrupt gz data .* at compressed byte offset (24576|32768)"):
        for _ in reader.chunks():
            pass


def test_prefetched_hands_over_items_then_the_error():
    def items():
        yield 1
        yield 2
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for item in Prefetched(items(), depth=1):
            got.append(item)
    assert got == [1, 2]


def test_trusted_lines_cut_exactly_at_frames_and_near_the_end_else_at_a_block_start():
    from types import SimpleNamespace

    from rdial.extract.lines import Block
    from rdial.extract.readers import TrustedLines

    reader = SimpleNamespace(frames=[0, 8])  # a second frame begins 8 bytes in: inside line 4
    trusted = TrustedLines(reader)
    blocks = [Block(b"a\nb\nc\ndefg\n", 1, 4), Block(b"h\ni\n", 5, 2), Block(b"jk\nl\n", 7, 2),
              Block(b"m\nn\n", 9, 2)]  # offsets 0, 11, 15, 20; 24 bytes in all
    for block in blocks:
        trusted.see(block)

    def cut(at):
        return trusted.first_untrusted_line(CorruptInputError("RC_x.zst", 0, "damage", trusted=at))

    assert cut(None) is None and cut(24) is None  # every row trusted
    assert cut(0) == 1 and cut(8) == 4   # frame starts: exact
    assert cut(15) == 7 and cut(17) == 7 and cut(18) == 8 and cut(22) == 10  # the last two blocks: exact
    assert cut(13) == 5   # an older block (line 6 starts at 13): its first line, 5
