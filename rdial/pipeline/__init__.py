"""rdial.pipeline: the monthly job (`rdial run pipeline.toml`) and `rdial status CORPUS`.

    rdial run pipeline.toml          # extract -> build -> filter -> exports (-> train)
    rdial status corpus --json

Modules: config.py (PipelineConfig, read from TOML), runner.py (run_pipeline: every stage under
one lock, one summary, one exit status), status.py (what a corpus holds and what is stale),
cli.py and status_cli.py (the two commands).
"""
