"""rdial.build: comment trees -> dialogue chains, one bucket at a time.

    rdial build corpus --targets leaves --min-turns 2

Modules, in pipeline order:
  inputs.py       read a bucket's comments/submissions Parquet files, checked against the schema
  dedupe.py       one record per id: the latest retrieved wins
  usable.py       which bodies can be a turn ([deleted], [removed], empty cannot)
  links.py        parent links as row indices, each comment's link kind counted
  chains.py       ChainBuilder: pointer jumping over the reply forest -> chain index paths
  bucket.py       build_chains: the steps above for one bucket -> CHAINS table + stats
  stage.py        BuildConfig, run_build: tasks per bucket, ledger, stats, config
  cli.py          `rdial build`
The preset's comment rules and [build] defaults come from rdial.rules (shared with filter).
"""
