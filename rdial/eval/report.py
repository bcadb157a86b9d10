"""The evaluation table (one row per system or decoding setting) and eval.json.

    python -c "from rdial.eval.report import table; print(table({'greedy': {'nist2': 1.2}}))"

Columns follow DialoGPT's README table: NIST-2/4, BLEU-2/4 (percent), Entropy-4, Dist-1/2
(percent), average length; eval.json keeps every number unrounded.
"""

from __future__ import annotations

COLUMNS = (  # (header, key, format)
    ("NIST2", "nist2", "{:.4f}"), ("NIST4", "nist4", "{:.4f}"),
    ("BLEU2", "bleu2", "{:.2%}"), ("BLEU4", "bleu4", "{:.2%}"),
    ("ENT-4", "entropy4", "{:.2f}"), ("DIST-1", "dist1", "{:.2%}"), ("DIST-2", "dist2", "{:.2%}"),
    ("Avg.Len", "avg_len", "{:.1f}"), ("empty", "empty_hyps", "{:d}"),
)


def table(rows: dict[str, dict]) -> str:
    """A Markdown table: first column the row name, then COLUMNS (and test ppl when present)."""
    columns = list(COLUMNS)
    if any("test_ppl" in r for r in rows.values()):
        columns.append(("test ppl", "test_ppl", "{:.2f}"))
    header = ["system"] + [c[0] for c in columns]
    body = [[name] + [fmt.format(r[key]) if r.get(key) is not None else "n/a" for _, key, fmt in columns]
            for name, r in rows.items()]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule] + [line(b) for b in body])
