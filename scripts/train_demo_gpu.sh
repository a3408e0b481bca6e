#!/usr/bin/env bash
# One run of under 9 minutes on a CUDA machine with no network: check the codec's CUDA path against
# the CPU, then train the demo codec within a time budget.
#
# Prepared beside the repository (both git-ignored):
#   .gpu/corpus.flac  the espeak-ng speech corpus that `python main.py train-demo` builds
#                     (~/.cache/mimi-explorer/train-demo/speech_700_1234.npy, as 16-bit FLAC),
#                     because the GPU machine has no espeak-ng;
#   .whl/             wheels for what its Python lacks (soundfile, cffi, pycparser, soxr).
# Writes to $OUT: gpu.txt, cuda_check.jsonl, train.log, and the checkpoint in 15 MB parts
# (ckpt.partNN). Back here: `cat ckpt.part* > WORK/checkpoint.pt`, then
# `python main.py train-demo --work WORK` exports the weights (the step count is reached).
set -u
OUT=${OUT:-/tmp/out}
BUDGET=${BUDGET:-400}
DEVICE=${DEVICE:-cuda}  # cpu: only to try this script where there is no GPU
export PYTHONUNBUFFERED=1
if [ -d .whl ] && [ "$DEVICE" = cuda ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
    nproc | tee -a "$OUT/gpu.txt"
    timeout 90 python3 scripts/cuda_check.py >"$OUT/cuda_check.jsonl" 2>&1
    cat "$OUT/cuda_check.jsonl"
fi
mkdir -p /tmp/w
python3 -c "
import numpy as np, soundfile as sf
x, _ = sf.read('.gpu/corpus.flac', dtype='int16')
np.save('/tmp/w/speech_700_1234.npy', x)
"
timeout $((BUDGET + 100)) python3 main.py train-demo --device "$DEVICE" --work /tmp/w \
    --out /tmp/w/out --batch "${BATCH:-32}" --workers "${WORKERS:-12}" --steps 10000000 --ae-steps 10000000 \
    --time-budget "$BUDGET" --ae-share 0.3 --log-every 100 --probe-every 1000 \
    --ckpt-every 1000 2>&1 | tee "$OUT/train.log"
split -b 15M -d /tmp/w/checkpoint.pt "$OUT/ckpt.part"
ls -la "$OUT"
