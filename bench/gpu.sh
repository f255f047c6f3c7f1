#!/usr/bin/env bash
# The GPU check of docs/training.md ("GPU"): the pretraining step bench on CUDA (fp32, bf16,
# compiled blocks) and the `gpu` preset (the paper grid at a budget meant to finish, evaluation
# included, in <= 8 minutes on one H100/H200), timed, with its report left in one folder.
#
#   bash bench/gpu.sh [OUT]        OUT defaults to docs/results/gpu-<date>
#
# Needs a CUDA machine with the project installed (pip install -e .); TSDIVIDEND_DATA or
# --data-dir is not used: the preset runs on the datasets that ship, so it runs anywhere.
set -euo pipefail
OUT=${1:-docs/results/gpu-$(date +%Y%m%d)}
mkdir -p "$OUT"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python bench/pretrain.py --device cuda --compile 2>&1 | tee "$OUT/bench_pretrain.txt"
start=$(date +%s)
tsdividend run --preset gpu --executor pool --out "$OUT/study" 2>&1 | tee "$OUT/study.log"
end=$(date +%s)
echo "gpu preset wall time: $((end - start)) s (target <= 480 s)" | tee "$OUT/wall_time.txt"
cp "$OUT/study/report.md" "$OUT/report.md" 2>/dev/null || true
