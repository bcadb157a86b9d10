"""The loss and perplexity curves of a run as a PNG, drawn without a plotting library.

    python -m rdial.train.plot run                 # run/metrics.jsonl -> run/metrics.png

`rdial train` writes RUN/metrics.png beside metrics.jsonl at every checkpoint and at the end.
Two panels: the loss (train every --log-every steps in blue, valid every --eval-every steps in
orange, test at the end as an orange cross) and the perplexity exp(loss) on a log scale, same
colours. Axes carry the step range and the value range as text (a built-in 5x7 font). matplotlib
is not a dependency of rdial, and a few hundred lines of pixels do not need one: the image is
an RGB bitmap written with zlib and struct (PNG, 8-bit, no filter).
"""

from __future__ import annotations

import json
import math
import struct
import sys
import zlib
from pathlib import Path

from rdial.publish import atomic_path

WIDTH, HEIGHT = 720, 300
PANEL_W, PANEL_H = 290, 220     # plot area of one panel
LEFT, TOP = 60, 40              # plot area offset inside its panel
BACKGROUND, AXIS, GRID, TEXT = (255, 255, 255), (60, 60, 60), (225, 225, 225), (30, 30, 30)
TRAIN, EVAL = (31, 119, 180), (255, 127, 14)

_FONT = {  # 5x7 glyphs, one string of 5 bits per row
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000", "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000", ",": "00000 00000 00000 00000 01100 00100 01000",
    "a": "00000 00000 01110 00001 01111 10001 01111", "d": "00001 00001 01101 10011 10001 10001 01111",
    "e": "00000 00000 01110 10001 11111 10000 01110", "g": "00000 01111 10001 10001 01111 00001 01110",
    "i": "00100 00000 01100 00100 00100 00100 01110", "l": "01100 00100 00100 00100 00100 00100 01110",
    "n": "00000 00000 10110 11001 10001 10001 10001", "o": "00000 00000 01110 10001 10001 10001 01110",
    "p": "00000 00000 11110 10001 11110 10000 10000", "r": "00000 00000 10110 11001 10000 10000 10000",
    "s": "00000 00000 01111 10000 01110 00001 11110", "t": "01000 01000 11100 01000 01000 01001 00110",
    "v": "00000 00000 10001 10001 10001 01010 00100", "x": "00000 00000 10001 01010 00100 01010 10001",
    "y": "00000 00000 10001 10001 01111 00001 01110", "u": "00000 00000 10001 10001 10001 10011 01101",
    "c": "00000 00000 01110 10000 10000 10001 01110", "m": "00000 00000 11010 10101 10101 10001 10001",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}


class Canvas:
    """An RGB bitmap, (0, 0) top left."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(BACKGROUND) * (width * height))

    def set(self, x: int, y: int, color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def get(self, x: int, y: int) -> tuple:
        i = 3 * (y * self.width + x)
        return tuple(self.pixels[i:i + 3])

    def line(self, x0: int, y0: int, x1: int, y1: int, color, width: int = 1) -> None:
        """Bresenham; `width` 2 draws a second line one pixel below."""
        for dy in range(width):
            self._line(x0, y0 + dy, x1, y1 + dy, color)

    def _line(self, x0, y0, x1, y1, color) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.set(x0, y0, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, color=TEXT) -> None:
        for k, ch in enumerate(s.lower()):
            rows = _FONT.get(ch, _FONT[" "]).split()
            for r, bits in enumerate(rows):
                for c, bit in enumerate(bits):
                    if bit == "1":
                        self.set(x + 6 * k + c, y + r, color)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[3 * y * self.width:3 * (y + 1) * self.width])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def scale(value: float, lo: float, hi: float, pixels: int) -> int:
    """Pixel offset of `value` on an axis from lo (0) to hi (pixels - 1)."""
    if hi <= lo:
        return (pixels - 1) // 2
    return round((value - lo) / (hi - lo) * (pixels - 1))


def _panel(canvas: Canvas, x0: int, title: str, series: list, *, log: bool) -> None:
    """series: [(points [(step, value)], colour, label)]; lines, or crosses for a single point."""
    ox, oy = x0 + LEFT, TOP
    pts = [p for s, _, _ in series for p in s]
    canvas.text(ox, 12, title)
    for k in range(5):  # horizontal grid
        y = oy + round(k * (PANEL_H - 1) / 4)
        canvas.line(ox, y, ox + PANEL_W - 1, y, GRID)
    canvas.line(ox, oy, ox, oy + PANEL_H - 1, AXIS)
    canvas.line(ox, oy + PANEL_H - 1, ox + PANEL_W - 1, oy + PANEL_H - 1, AXIS)
    if not pts:
        canvas.text(ox + 90, oy + PANEL_H // 2, "no data yet")
        return
    f = (lambda v: math.log10(max(v, 1e-12))) if log else (lambda v: v)  # noqa: E731
    steps = [s for s, _ in pts]
    lo_x, hi_x = min(steps), max(steps)
    values = [f(v) for _, v in pts]
    lo_y, hi_y = min(values), max(values)
    shown = (lambda v: 10 ** v) if log else (lambda v: v)  # noqa: E731
    canvas.text(ox - 6 * len(_fmt(shown(hi_y))) - 4, oy, _fmt(shown(hi_y)))
    canvas.text(ox - 6 * len(_fmt(shown(lo_y))) - 4, oy + PANEL_H - 7, _fmt(shown(lo_y)))
    canvas.text(ox, oy + PANEL_H + 6, str(lo_x))
    last = str(hi_x)
    canvas.text(ox + PANEL_W - 6 * len(last), oy + PANEL_H + 6, last)
    canvas.text(ox + PANEL_W // 2 - 12, oy + PANEL_H + 6, "step")
    xy = lambda s, v: (ox + scale(s, lo_x, hi_x, PANEL_W),  # noqa: E731
                       oy + PANEL_H - 1 - scale(f(v), lo_y, hi_y, PANEL_H))
    legend_x = ox + PANEL_W - 70
    for k, (points, color, label) in enumerate(series):
        if points:
            canvas.text(legend_x, oy + 6 + 10 * k, label, color)
        coords = [xy(s, v) for s, v in points]
        if len(coords) == 1:
            (x, y), = coords
            canvas.line(x - 3, y - 3, x + 3, y + 3, color, 2)
            canvas.line(x - 3, y + 3, x + 3, y - 3, color, 2)
        for (a, b), (c, d) in zip(coords, coords[1:]):
            canvas.line(a, b, c, d, color, 2)


def read_metrics(path: Path) -> dict[str, list[tuple[int, float]]]:
    """{split: [(step, loss)]} from metrics.jsonl; lines cut by a kill are skipped."""
    out: dict[str, list[tuple[int, float]]] = {"train": [], "valid": [], "test": []}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            loss = float(record["loss"])
            out.setdefault(record["split"], []).append((int(record["step"]), loss))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def render(metrics: dict[str, list[tuple[int, float]]]) -> Canvas:
    canvas = Canvas(WIDTH, HEIGHT)
    train, valid, test = metrics.get("train", []), metrics.get("valid", []), metrics.get("test", [])
    ppl = lambda pts: [(s, math.exp(min(v, 50.0))) for s, v in pts]  # noqa: E731
    _panel(canvas, 0, "loss", [(train, TRAIN, "train"), (valid, EVAL, "valid"), (test, EVAL, "test x")],
           log=False)
    _panel(canvas, WIDTH // 2, "perplexity (log)", [(ppl(train), TRAIN, "train"), (ppl(valid), EVAL, "valid"),
                                                    (ppl(test), EVAL, "test x")], log=True)
    return canvas


def plot_metrics(metrics_path: Path, png_path: Path) -> Path | None:
    """Write png_path from metrics_path (atomically); None when metrics_path does not exist."""
    if not Path(metrics_path).exists():
        return None
    data = render(read_metrics(metrics_path)).png()
    with atomic_path(Path(png_path)) as tmp:
        Path(tmp).write_bytes(data)
    return Path(png_path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m rdial.train.plot RUN_DIR", file=sys.stderr)
        return 2
    run = Path(args[0])
    written = plot_metrics(run / "metrics.jsonl", run / "metrics.png")
    if written is None:
        print(f"rdial: error: {run / 'metrics.jsonl'} does not exist", file=sys.stderr)
        return 2
    print(written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
