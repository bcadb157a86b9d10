"""rdial: Reddit comment dumps into a dialogue corpus, and a GPT-2 conversational model trained on it.

    rdial demo --out demo-run      # synth -> extract -> build -> filter -> train, end to end

Stages live in `rdial.extract`, `rdial.build`, `rdial.filter` and `rdial.train`; the tables they
exchange are defined once in `rdial.schema`.
"""

__version__ = "0.1.0"
