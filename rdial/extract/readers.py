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
after every chunk decoded before the damage has been handed out.
"""

from __future__ import annotations

import bz2
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
# 256 KiB of compressed input per step: small enough that a damage offset is precise, large
# enough that the per-call overhead is invisible (zstd decodes ~1.3 GB/s either way).
COMPRESSED_STEP = 256 * 1024
PLAIN_STEP = 8 * 1024 * 1024


class CorruptInputError(InputError):
    """The compressed stream is damaged or cut short; everything before `offset` was delivered."""

    def __init__(self, path: Path, offset: int, what: str):
        self.path, self.offset, self.what = Path(path), offset, what
        super().__init__(f"{self.path}: {what} at compressed byte offset {offset}; "
                         f"the lines before the damage were kept")


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
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    for fmt, magic in MAGIC.items():
        if head.startswith(magic):
            return fmt
    ext = _extension(path)
    if ext in CODEC_EXTENSIONS:
        raise InputError(f"{path}: unknown format: the name says {CODEC_EXTENSIONS[ext]} but the "
                         f"file starts with {head[:6].hex(' ')} (damaged or mislabelled)")
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if ext not in PLAIN_EXTENSIONS or (text and text[:1] not in (b"{", b"[")):
        raise InputError(f"{path}: unknown format: not zst, bz2, xz, gz or JSON lines "
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

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            while data := fh.read(self.step):
                self.offset += len(data)
                yield data


class PlainReader(DumpReader):
    format = "plain"


class _CodecReader(DumpReader):
    """Frame-by-frame decoding shared by the codecs: each decoder object reads one frame
    (stream, member); its `unused_data` starts the next. Ending inside a frame is truncation."""

    errors: tuple[type[BaseException], ...] = ()

    def _decoder(self):
        raise NotImplementedError

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        finally:
            self._release()

    def _release(self) -> None:
        """Free the decoder's memory once the stream is over (a zstd window is up to 2 GiB)."""

    def _chunks(self) -> Iterator[bytes]:
        decoder, fed = self._decoder(), False
        with open(self.path, "rb") as fh:
            while data := fh.read(self.step):
                start = self.offset
                self.offset += len(data)
                while data:
                    try:
                        out = decoder.decompress(data)
                    except self.errors as exc:
                        raise CorruptInputError(self.path, start, f"corrupt {self.format} data "
                                                f"({exc})") from exc
                    fed = True
                    if out:
                        yield out
                    if not decoder.eof:
                        break
                    data, decoder, fed = decoder.unused_data, self._decoder(), False
        if fed and not decoder.eof:
            raise CorruptInputError(self.path, self.offset, f"truncated {self.format} data "
                                    "(the file ends inside a frame)")


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


class Bz2Reader(_CodecReader):
    format = "bz2"
    errors = (OSError, ValueError, EOFError)

    def _decoder(self):
        return bz2.BZ2Decompressor()


class XzReader(_CodecReader):
    format = "xz"
    errors = (lzma.LZMAError, EOFError)

    def _decoder(self):
        return lzma.LZMADecompressor()


class GzipReader(_CodecReader):
    format = "gz"
    errors = (zlib.error,)

    def _decoder(self):
        return zlib.decompressobj(wbits=31)


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


def chunks_with_offsets(reader: DumpReader) -> Iterator[tuple[bytes, int]]:
    """(decompressed chunk, compressed bytes consumed so far) pairs."""
    for chunk in reader.chunks():
        yield chunk, reader.offset
