"""rdial prune CORPUS: delete the extracted comments/submissions of months whose threads are all
archived, once the chains are built; --dry-run shows what would go and the bytes freed.

Examples:
  rdial prune corpus --dry-run
  rdial prune corpus
  rdial prune corpus --archive-days 365     # keep more months (a forum that archives later)

A month m goes when the corpus holds every month from m to its newest month N and
end(m) + --archive-days <= end(N) (Reddit archives a thread 180 days after it is posted, so no
later month can reach m's threads). Kept: chains/, shards/, quarantine/, stats/, the months
inside the window, and the build ledger, which remembers each removed file. It refuses, removing
nothing, when the build is not up to date (run `rdial build CORPUS` first). After a prune, a
bucket that must be rebuilt in full (new build settings, --force) or that a late comment reaches
fails with a message naming the month to extract again (`rdial extract RC_... --out CORPUS
--force`). Details: docs/build.md, rdial/pipeline/prune.py.

Exit status: 0 pruned (or nothing to prune; --dry-run shown); 2 bad flags, not a corpus, or the
build is stale (nothing removed); 75 the corpus is in use by another run.
"""

from __future__ import annotations

import argparse

from rdial.config import add_config_arguments, config_from_args

HELP = "delete extracted months whose threads are all archived (after build; --dry-run first)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rdial.pipeline.prune import PruneConfig

    add_config_arguments(parser, PruneConfig)


def run(args: argparse.Namespace) -> int:
    from rdial.pipeline.prune import PruneConfig, format_plan, run_prune

    cfg = config_from_args(PruneConfig, args)
    plan, freed = run_prune(cfg)
    print(format_plan(plan, None if cfg.dry_run else freed))
    return 0
