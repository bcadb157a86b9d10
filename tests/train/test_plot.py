"""metrics.png: a valid PNG whose curves are where the metrics put them."""

import json
import struct
import zlib

from rdial.train import plot


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of an 8-bit RGB PNG with filter 0 rows; checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        pos += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(chunks[1][1])
    rows = [raw[y * (3 * width + 1):(y + 1) * (3 * width + 1)] for y in range(height)]
    assert all(r[0] == 0 for r in rows)
    return width, height, b"".join(r[1:] for r in rows)


def test_png_holds_the_train_and_valid_curves_at_their_places(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [{"step": s, "split": "train", "loss": 10.0 - s} for s in (1, 2, 3, 4)]
    lines += [{"step": 4, "split": "valid", "loss": 7.0, "ppl": 1096.6}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 5, "spl')  # a cut line
    assert plot.read_metrics(path) == {"train": [(1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0)], "valid": [(4, 7.0)],
                                       "test": []}
    out = plot.plot_metrics(path, tmp_path / "metrics.png")
    width, height, rgb = decode_png(out.read_bytes())
    assert (width, height) == (plot.WIDTH, plot.HEIGHT)
    pixel = lambda x, y: tuple(rgb[3 * (y * width + x):3 * (y * width + x) + 3])  # noqa: E731
    ox, oy = plot.LEFT, plot.TOP
    # loss panel: step 1 (9.0, the maximum) top left, step 4 (6.0, the minimum) bottom right
    assert pixel(ox, oy) == plot.TRAIN
    assert pixel(ox + plot.PANEL_W - 1, oy + plot.PANEL_H - 1) == plot.TRAIN
    # the valid point (step 4, loss 7.0) is a cross at the right edge, a third of the way up
    x = ox + plot.scale(4, 1, 4, plot.PANEL_W)
    y = oy + plot.PANEL_H - 1 - plot.scale(7.0, 6.0, 9.0, plot.PANEL_H)
    assert pixel(x - 2, y - 2) == plot.EVAL
    # perplexity panel (log scale) draws the same shape, offset by half the width
    assert pixel(plot.WIDTH // 2 + ox, oy) == plot.TRAIN
    train_pixels = sum(1 for i in range(0, len(rgb), 3) if tuple(rgb[i:i + 3]) == plot.TRAIN)
    assert train_pixels > 2 * 2 * plot.PANEL_W  # two panels, a 2-pixel line across each


def test_run_writes_metrics_png(six_steps):
    run, _ = six_steps
    width, height, _ = decode_png((run / "metrics.png").read_bytes())
    assert (width, height) == (plot.WIDTH, plot.HEIGHT)


def test_plot_command_on_a_run(six_steps, tmp_path, capsys):
    assert plot.main([str(tmp_path)]) == 2
    assert "metrics.jsonl does not exist" in capsys.readouterr().err
    run, _ = six_steps
    assert plot.main([str(run)]) == 0
    assert capsys.readouterr().out == f"{run / 'metrics.png'}\n"
