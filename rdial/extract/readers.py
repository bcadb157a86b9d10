"""Streaming readers for dump files: compressed bytes in, decompressed byte chunks out.

    python -c "from rdial.extract.readers import open_dump; r = open_dump('RC_2005-12.zst'); print(r.format, sum(map(len, r.chunks())))"

The format comes from the file's magic bytes and its extension:

    zst  28 b5 2f fd      ZstdReader   (2 GiB window: Pushshift writes with --long=31)
    bz2  'BZh'            Bz2Reader
    xz   fd 37 7a 58 5a   XzReader
    gz   1f 8b            GzipReader
    json/ndjson/jsonl/no extension, text starting with '{' or '['   PlainReader

Magic bytes win over the extension when they name a codec; an extension that promises a codec
the bytes do not have, or bytes that are neither a codec nor JSON text, is an unknown format
(`InputError`, one line). Every reader decodes frame by frame (concatenated zstd frames,
multi-stream bz2/xz, multi-member gzip all work) and knows how many compressed bytes it consumed,
so damage is reported as `CorruptInputError` naming the file and the compressed byte offset,
after every chunk decoded before the damage has been handed out (a failing call is decoded
again, 1 KiB at a time). The error says how much of that output the codec's checks vouch for
(`trusted`); `TrustedLines` turns it into the first line whose row is not published. The rules
per codec are the table in docs/extract.md; `bench/damage_probe.py` measures them on a real dump.
"""

from __future__ import annotations

import bisect
import bz2
import collections
import lzma
import queue
import threading
import zlib
from pathlib import Path
from typing import Iterator

from rdial.errors import InputError

MAGIC = {
    "zst": b"\x28\xb5\x2f\xfd",
    "bz2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "gz": b"\x1f\x8b",
}
CODEC_EXTENSIONS = {".zst": "zst", ".zstd": "zst", ".bz2": "bz2", ".xz": "xz", ".gz": "gz"}
PLAIN_EXTENSIONS = {"", ".json", ".ndjson", ".jsonl", ".txt"}
# 256 KiB of compressed input per step: large enough that the per-call overhead is invisible
# (zstd decodes ~1.3 GB/s either way). A codec drops what a failing call had decoded, so after
# an error the frame is decoded again and the failing step fed SALVAGE_STEP bytes at a time.
COMPRESSED_STEP = 256 * 1024
SALVAGE_STEP = 1024
# xz: LZMA2 checks each chunk (packed at most 64 KiB, its header up to 6 bytes) when it ends, and
# hands out a damaged chunk's output before that, so after an error the output decoded from the
# last chunk's bytes is not trusted (measured: altered output up to 8.6 KB before the error).
XZ_CHUNK_MAX = 64 * 1024 + 6
PLAIN_STEP = 8 * 1024 * 1024


class CorruptInputError(InputError):
    """The compressed stream is damaged or cut short; everything decoded before it was delivered.

    `trusted` is how many of the delivered decompressed bytes can be trusted (None: all of
    them): rows from lines that end past it are not published (see `TrustedLines`). `kind` is
    "truncated", "corrupt" (a structural error) or "checksum" (a frame's check failed).
    """

    def __init__(self, path: Path, offset: int, what: str, *, trusted: int | None = None,
                 kind: str = "corrupt"):
        self.path, self.offset, self.what = Path(path), offset, what
        self.trusted, self.kind = trusted, kind
        kept = ("the lines before the damage were kept" if trusted is None else
                "the rows of the damaged frame are not kept" if kind == "checksum" else
                "the lines decoded just before the damage are not kept (they may be altered)")
        super().__init__(f"{short_path(self.path)}: {what} at compressed byte offset {offset}; {kept}")


def short_path(path: Path, limit: int = 160) -> str:
    """`path` for a one-line message: a name over `limit` characters keeps its start and end."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 1):]}"


def _extension(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CODEC_EXTENSIONS or suffix in PLAIN_EXTENSIONS:
        return suffix
    # "RC_2019-10" has no extension, but Path sees ".2019-10"-like suffixes as one: treat any
    # suffix that is not a word as part of the name.
    return "" if not suffix[1:].isalpha() else suffix


def detect_format(path: Path) -> str:
    """"zst", "bz2", "xz", "gz" or "plain"; raises InputError for a missing or unknown file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{short_path(path)}: no such file")
    if not path.is_file():
        raise InputError(f"{short_path(path)}: not a regular file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"{short_path(path)}: cannot read ({exc.strerror})") from exc
    for fmt, magic in MAGIC.items():
        if head.startswith(magic):
            return fmt
    ext = _extension(path)
    if ext in CODEC_EXTENSIONS and not head:
        raise InputError(f"{short_path(path)}: an empty file (0 bytes), not {CODEC_EXTENSIONS[ext]} data")
    if ext in CODEC_EXTENSIONS:
        raise InputError(f"{short_path(path)}: unknown format: the name says {CODEC_EXTENSIONS[ext]} but the "
                         f"file starts with {head[:6].hex(' ')} (damaged or mislabelled)")
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if ext not in PLAIN_EXTENSIONS or (text and text[:1] not in (b"{", b"[")):
        raise InputError(f"{short_path(path)}: unknown format: not zst, bz2, xz, gz or JSON lines "
                         f"(starts with {head[:6].hex(' ') or 'nothing'})")
    return "plain"


class DumpReader:
    """Decompressed chunks of one file. `offset` is the compressed bytes consumed so far."""

    format = "plain"

    def __init__(self, path: Path, step: int | None = None):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.step = step or (PLAIN_STEP if self.format == "plain" else COMPRESSED_STEP)
        self.offset = 0
        self.marks: list[int] = [0]  # see _CodecReader; a plain file is trusted as it is

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            while data := fh.read(self.step):
                self.offset += len(data)
                yield data


class PlainReader(DumpReader):
    format = "plain"


class _CodecReader(DumpReader):
    """Frame-by-frame decoding shared by the codecs: each decoder object reads one frame
    (stream, member); its `unused_data` starts the next. Ending inside a frame is truncation.

    What is trusted after damage (the table in docs/extract.md), as `CorruptInputError.trusted`:
    truncation: everything delivered. A failed check (zst content checksum, gz CRC) or any gz
    error: nothing of that frame. Other errors: everything before the codec's damage window
    (`_trusted_after_error`). Trust is cut at `marks`, the decompressed offsets where a frame or
    a step's output began, appended before that output is handed out.
    """

    errors: tuple[type[BaseException], ...] = ()
    damage_window = 0  # compressed bytes before an error where the damage may lie (xz)

    def __init__(self, path: Path, step: int | None = None):
        super().__init__(path, step)
        self.produced = 0  # decompressed bytes handed out
        self._mark_pos: list[int] = [0]  # the compressed offset each mark's output came from
        self.frames: list[int] = [0]  # decompressed offsets where frames begin

    def _decoder(self):
        raise NotImplementedError

    def _whole_frame_untrusted(self, exc: BaseException) -> bool:
        """True when this error means no byte of the frame can be trusted (its check failed)."""
        return False

    def _trusted_after_error(self, history: list[tuple[int, int]], frame_out: int,
                             error_pos: int) -> int:
        """Decompressed bytes still trusted after a structural error at compressed `error_pos`,
        the damage lying within the codec's unit before it. `history`: (compressed offset, output
        before it) of each call of the salvage that gave output. bz2 checks each block's CRC
        before the call that decoded it returns: all of its output is trusted."""
        return self.produced

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        finally:
            self._release()

    def _release(self) -> None:
        """Free the decoder's memory once the stream is over (a zstd window is up to 2 GiB)."""

    def _mark(self, pos: int) -> None:
        if self.produced != self.marks[-1]:
            self.marks.append(self.produced)
            self._mark_pos.append(pos)

    def _chunks(self) -> Iterator[bytes]:
        decoder, fed = self._decoder(), False
        frame_start = frame_out = 0  # where the current frame began: compressed, decompressed
        with open(self.path, "rb") as fh:
            while data := fh.read(self.step):
                start = self.offset
                self.offset += len(data)
                while data:
                    try:
                        out = decoder.decompress(data)
                    except self.errors as exc:
                        yield from self._salvage(exc, frame_start, frame_out, start)
                        raise AssertionError("unreachable: _salvage raises")  # pragma: no cover
                    fed = True
                    if out:
                        self._mark(start)
                        self.produced += len(out)
                        yield out
                    if not decoder.eof:
                        break
                    data, decoder, fed = decoder.unused_data, self._decoder(), False
                    frame_start = start = self.offset - len(data)
                    frame_out = self.produced
                    self._mark(frame_start)
                    if frame_out != self.frames[-1]:
                        self.frames.append(frame_out)
        if fed and not decoder.eof:
            raise CorruptInputError(self.path, self.offset, f"truncated {self.format} data "
                                    "(the file ends inside a frame)", kind="truncated")

    def _salvage(self, exc: BaseException, frame_start: int, frame_out: int,
                 failed_at: int) -> Iterator[bytes]:
        """The failing call dropped what it had decoded: decode the frame again, the last step
        that gave output and the failing one SALVAGE_STEP bytes at a time, handing out what
        comes before the error. Raises CorruptInputError saying what is trusted."""
        if self._whole_frame_untrusted(exc):
            raise CorruptInputError(self.path, failed_at, f"corrupt {self.format} data ({exc}; in "
                                    f"the frame that began at compressed byte {frame_start})",
                                    trusted=frame_out, kind="checksum") from exc
        decoder = self._fresh_decoder()
        # Fed finely from where the last output came from (or the codec's damage window), on
        # a SALVAGE_STEP grid from the frame's start
        fine_from = max(frame_start, min(self._mark_pos[-1], failed_at - self.damage_window))
        fine_from -= (fine_from - frame_start) % SALVAGE_STEP
        history: list[tuple[int, int]] = []  # (compressed offset of a fine call, output before it)
        seen = frame_out  # decompressed bytes of this frame decoded again (handed out or not)
        with open(self.path, "rb") as fh:
            fh.seek(frame_start)
            pos = frame_start
            while not decoder.eof:
                fine = pos >= fine_from
                data = fh.read(SALVAGE_STEP if fine else min(self.step, fine_from - pos))
                if not data:
                    break
                try:
                    out = decoder.decompress(data)
                except self.errors as again:
                    trusted = max(frame_out, min(self.produced,
                                                 self._trusted_after_error(history, frame_out, pos)))
                    raise CorruptInputError(self.path, pos, f"corrupt {self.format} data ({again})",
                                            trusted=None if trusted >= self.produced else trusted) from again
                if out and fine:
                    history.append((pos, seen))
                new = seen + len(out) - self.produced  # bytes not handed out before
                seen += len(out)
                if new > 0:
                    self._mark(pos)
                    self.produced += new
                    yield out[len(out) - new:]
                pos += len(data)
        # The error did not come again (it cannot with these codecs): trust nothing of the frame.
        raise CorruptInputError(self.path, failed_at, f"corrupt {self.format} data ({exc})",
                                trusted=frame_out) from exc

    def _fresh_decoder(self):
        return self._decoder()


class ZstdReader(_CodecReader):
    format = "zst"

    def __init__(self, path: Path, step: int | None = None):
        super().__init__(path, step)
        import zstandard

        self._zstandard = zstandard
        self._dctx = None
        self.errors = (zstandard.ZstdError,)

    def _decoder(self):
        if self._dctx is None:  # Pushshift compresses with --long=31: a default decoder refuses it
            self._dctx = self._zstandard.ZstdDecompressor(max_window_size=2**31)
        return self._dctx.decompressobj()

    def _release(self) -> None:
        # The context keeps its window (2 GiB for --long=31 dumps) until it is freed; writing
        # the bucket files comes next and needs none of it.
        self._dctx = None

    def _fresh_decoder(self):
        self._dctx = None  # the failed stream's context is not reused
        return self._decoder()

    def _whole_frame_untrusted(self, exc: BaseException) -> bool:
        # "Restored data doesn't match checksum": the frame's content checksum failed after its
        # output was handed out (measured on RC_2006-01.zst: always after altered output).
        return "checksum" in str(exc).lower()

    def _trusted_after_error(self, history, frame_out, error_pos) -> int:
        # zstd decodes a block whole or not at all, but a damaged block can decode "valid" and
        # the error show in the next one (measured: 1 of 141 structural errors, 6,263 bytes
        # altered): the last block decoded before the error is not trusted.
        return history[-1][1] if history else self.marks[-1]


class Bz2Reader(_CodecReader):
    format = "bz2"
    errors = (OSError, ValueError, EOFError)

    def _decoder(self):
        return bz2.BZ2Decompressor()


class XzReader(_CodecReader):
    format = "xz"
    errors = (lzma.LZMAError, EOFError)
    damage_window = XZ_CHUNK_MAX + SALVAGE_STEP

    def _decoder(self):
        return lzma.LZMADecompressor()

    def _trusted_after_error(self, history, frame_out, error_pos) -> int:
        # liblzma says "Corrupt input data" for a failed check and for damage alike; the damage
        # lies in the chunk being decoded: trust only output of input before that chunk.
        limit = error_pos - XZ_CHUNK_MAX
        if history and history[0][0] + SALVAGE_STEP <= limit:
            later = [out for pos, out in history if pos + SALVAGE_STEP > limit]
            return later[0] if later else self.produced
        i = bisect.bisect_right(self._mark_pos, limit) - 1  # before the salvage: per step
        return self.marks[i] if i >= 0 else frame_out


class GzipReader(_CodecReader):
    format = "gz"
    errors = (zlib.error,)

    def _decoder(self):
        return zlib.decompressobj(wbits=31)

    def _whole_frame_untrusted(self, exc: BaseException) -> bool:
        # A CRC or length check failed ("incorrect data check"), or deflate noticed damage
        # itself, which it can do long after it began emitting altered bytes (deflate has no
        # unit smaller than the member to bound it): nothing of the member is trusted.
        return True


READERS = {cls.format: cls for cls in (ZstdReader, Bz2Reader, XzReader, GzipReader, PlainReader)}


def open_dump(path: Path, fmt: str | None = None) -> DumpReader:
    """The reader for `path` (format detected unless given)."""
    fmt = fmt or detect_format(path)
    return READERS[fmt](Path(path))


class Prefetched:
    """Runs an iterator in a thread and hands its items over through a bounded queue.

    The codecs release the GIL while decoding, so decompressing (and splitting) the next
    blocks overlaps with parsing this one: on a 2-core box this is the difference between the
    sum and the max of the two costs. Re-raises the iterator's error in the consumer, after
    the items that preceded it; stopping early (break, exception) stops the thread.
    """

    _DONE = object()

    def __init__(self, items: Iterator, depth: int = 4, name: str = "prefetch"):
        self.items = items
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self.items:
                if not self._put((item, None)):
                    return
            self._put((self._DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put((self._DONE, exc))

    def __iter__(self):
        self._thread.start()
        try:
            while True:
                item, error = self._queue.get()
                if item is self._DONE:
                    if error is not None:
                        raise error
                    return
                yield item
        finally:
            self._stop.set()


class TrustedLines:
    """Turns `CorruptInputError.trusted` (a decompressed offset) into the first line number whose
    row must not be published. Call `see(block)` for every block, in order. Frame starts (the
    reader's `frames`, appended before the frame's bytes are handed out) are resolved exactly as
    their block passes; any other cut lies near the end, in one of the last blocks kept at hand;
    failing that, the cut moves back to the start of its block (more dropped, nothing altered).
    Counting newlines only there keeps this off the normal path (a count per block cost ~1 ms/MB)."""

    KEEP = 2  # blocks at hand: the last 4-8 MiB of output, where a damage window ends

    def __init__(self, reader: DumpReader):
        self.reader = reader
        self.offset = 0  # decompressed bytes seen
        self.lines: dict[int, int] = {}  # frame start -> number of the first line not wholly before it
        self.starts: list[int] = []  # each block's decompressed offset ...
        self.first_lines: list[int] = []  # ... and first line
        self.recent: collections.deque = collections.deque(maxlen=self.KEEP)
        self._next = 0

    def see(self, block) -> None:
        start, end = self.offset, self.offset + len(block.data)
        self.starts.append(start)
        self.first_lines.append(block.first_line)
        self.recent.append((start, block.first_line, block.data))
        frames = getattr(self.reader, "frames", (0,))
        while self._next < len(frames) and frames[self._next] < end:
            mark = frames[self._next]
            if mark >= start:  # a line cut by the frame border belongs to neither: not trusted
                self.lines[mark] = block.first_line + block.data.count(b"\n", 0, mark - start)
            self._next += 1
        self.offset = end

    def first_untrusted_line(self, error: CorruptInputError) -> int | None:
        """Rows of lines >= this number are not trusted; None when every row is."""
        trusted = error.trusted
        if trusted is None or trusted >= self.offset:
            return None
        if trusted in self.lines:
            return self.lines[trusted]
        for start, first_line, data in self.recent:
            if start <= trusted < start + len(data):
                return first_line + data.count(b"\n", 0, trusted - start)
        return self.first_lines[bisect.bisect_right(self.starts, trusted) - 1]


def chunks_with_offsets(reader: DumpReader) -> Iterator[tuple[bytes, int]]:
    """(decompressed chunk, compressed bytes consumed so far) pairs."""
    for chunk in reader.chunks():
        yield chunk, reader.offset
