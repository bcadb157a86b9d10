"""`rdial eval` end to end: references -> systems (read or generated) -> metrics -> table and eval.json.

    python -c "from rdial.eval.cli import EvalConfig; from rdial.eval.evaluate import evaluate; \
print(evaluate(EvalConfig(hyps=['hyps.txt'], refs='refs.tsv'))['rows'])"
"""

from __future__ import annotations

import json
from pathlib import Path

from rdial.config import to_jsonable
from rdial.errors import InputError, RdialError
from rdial.eval.hypotheses import System, read_systems
from rdial.eval.references import ReferenceSet, read_references, reference_lists
from rdial.eval.scorer import TestSetScorer
from rdial.publish import atomic_write_json, atomic_write_text


def evaluate(cfg) -> dict:
    references = read_references(cfg.refs)
    refs_per_item = None if cfg.all_refs else cfg.refs_per_item
    protocol = "all references" if cfg.all_refs else f"{cfg.refs_per_item} reference sets (cycled)"
    if cfg.exclude_ref is not None:
        protocol += f", reference {cfg.exclude_ref} excluded"
    out = _out_dir(cfg)
    systems: list[tuple[System, dict]] = []
    if cfg.hyps:
        for path in cfg.hyps:
            systems += [(s, {}) for s in read_systems(path, references)]
    else:
        systems = _generate(cfg, references, out)
    scorer = TestSetScorer(reference_lists(references, refs_per_item, cfg.exclude_ref), clean=cfg.clean)
    rows: dict[str, dict] = {}
    for system, extra in systems:
        name = system.name
        while name in rows:
            name += "'"
        rows[name] = {**scorer.score(system.hyps), "hyps": str(system.path), **extra}
    if cfg.shards is not None:
        loss, tokens = _test_loss(cfg)
        for row in rows.values():
            row.update(test_loss=loss, test_ppl=_ppl(loss), test_tokens=tokens)
    counts = [len(item.refs) for item in references.items]
    result = {"rows": rows, "items": len(references.items), "protocol": protocol,
              "refs": {"path": str(references.path), "format": references.format,
                       "refs_per_item": refs_per_item, "exclude_ref": cfg.exclude_ref, "min_refs": min(counts), "max_refs": max(counts),
                       "total_refs": sum(counts)},
              "clean": cfg.clean, "settings": to_jsonable(cfg)}
    path = out / "eval.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, result, sort_keys=False)  # rows in the order of the table
    except OSError as exc:
        raise RdialError(f"--out {out}: cannot write eval.json there ({exc.strerror or exc}); pass another --out") from exc
    result["path"] = str(path)
    return result


def _out_dir(cfg) -> Path:
    if cfg.out is not None:
        return Path(cfg.out)
    if cfg.hyps:
        return Path(cfg.hyps[0]).parent
    return Path(cfg.run) / "eval"


def _ppl(loss):
    import math

    return None if loss is None else math.exp(min(loss, 50.0))


def _generate(cfg, references: ReferenceSet, out: Path) -> list[tuple[System, dict]]:
    from rdial.train.generate import Generator, resolve_device

    if not references.items or not references.items[0].context:
        raise InputError(f"--refs {references.path}: a {references.format} file holds no contexts to reply to; "
                         f"pass --hyps, or a reference file with contexts (multiref TSV, test.refs.txt)")
    contexts = [item.context for item in references.items]
    device = resolve_device(cfg.device)
    generator = Generator(cfg.run, tokenizer=cfg.tokenizer, device=device)
    reverse = None
    systems = []
    out.mkdir(parents=True, exist_ok=True)
    for setting in cfg.decode:
        settings = cfg.decode_settings(beams=(cfg.beams if cfg.beams > 1 else 5) if setting == "beam" else 1,
                                       sample=setting in ("sample", "mmi"), n_best=1)
        if setting == "mmi":
            from rdial.train.mmi import MmiReranker

            if reverse is None:
                reverse = MmiReranker(cfg.mmi, device=device, score=cfg.mmi_score, source=cfg.mmi_source)
            hyps = reverse.rerank_all(generator, contexts, settings, candidates=cfg.candidates,
                                      batch_size=cfg.batch_size)
        else:
            hyps = generator.generate(contexts, settings, batch_size=cfg.batch_size)
        path = out / f"hyps-{setting}.txt"
        atomic_write_text(path, "".join(h.replace("\n", " ") + "\n" for h in hyps))
        extra = {"decode": setting, "decode_settings": to_jsonable(settings), "model": str(generator.model_dir),
                 "device": device}
        if setting == "mmi":
            extra.update(mmi=str(cfg.mmi), candidates=cfg.candidates, mmi_score=cfg.mmi_score,
                         mmi_source=cfg.mmi_source)
        systems.append((System(name=setting, path=path, hyps=hyps), extra))
    return systems


def _test_loss(cfg) -> tuple[float | None, int]:
    import torch

    from rdial.train.generate import resolve_model_dir
    from rdial.train.loader import eval_batches, shard_units, split_files
    from rdial.train.model import CausalLMLoss, load_pretrained
    from rdial.train.tokenizer import load_tokenizer

    model_dir = resolve_model_dir(cfg.run)
    tokenizer = load_tokenizer(cfg.tokenizer or str(model_dir))
    model = load_pretrained(model_dir).eval()
    units = shard_units(split_files(Path(cfg.shards), "test"))
    max_seq_len = 256  # the run's own --max-seq-len when RUN is a run directory
    run_config = Path(cfg.run) / "config.json"
    if (Path(cfg.run) / "checkpoints").is_dir() and run_config.exists():
        max_seq_len = json.loads(run_config.read_text(encoding="utf-8")).get("max_seq_len", max_seq_len)
    batches, _ = eval_batches(units, tokenizer, rank=0, world=1, limit=cfg.eval_dialogues,
                              batch_tokens=max(8192, max_seq_len), max_seq_len=min(max_seq_len, model.config.n_positions))
    loss_fn = CausalLMLoss(model)
    total, tokens = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            total += float(loss_fn(batch.input_ids, batch.labels))
            tokens += int(batch.loss_tokens)
    return (total / tokens if tokens else None), tokens

