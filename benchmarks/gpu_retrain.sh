#!/usr/bin/env bash
# Retrain the base network (training/base/: the trunk the default model starts from) on a lent GPU
# machine, in one call, and bring back everything it made.
#
#   OUT=/some/dir benchmarks/gpu_retrain.sh DATA.tar.gz [SECONDS]
#
# DATA.tar.gz holds the Quick, Draw! folder's bitmaps/ and the stroke files of the classes without bitmaps
# (the GPU machine cannot see ../shared). The script prints the GPU's training throughput against the
# baseline loop (benchmarks/bench_training.py), then runs `python -m inkling.training.retrain --base --jobs 3` under a
# deadline of SECONDS (default 420), and packs the model, its card and each candidate's final checkpoint
# under $OUT (at most 8 files: the device tool's limit).
set -u -o pipefail
data_tar=${1:?usage: OUT=dir $0 DATA.tar.gz [SECONDS]}
deadline=${2:-420}
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
device=${DEVICE:-cuda}  # DEVICE=cpu tries the script out on a machine without a GPU
log=$OUT/log.txt
work=$(mktemp -d)
mkdir -p "$work/data" "$work/runs" "$work/model"
tar -xzf "$data_tar" -C "$work/data"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, onnx, onnxruntime; print("torch", torch.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'
} 2>&1 | tee "$log"

if [ -n "${ONLY:-}" ]; then
  # Just these candidates, all at once (the selection runs later, where the other candidates are).
  start=$(date +%s)
  for name in $ONLY; do
    mkdir -p "$work/runs/$name"
    timeout "$deadline" python3 -m inkling.training.retrain --data "$work/data" --runs "$work/runs" --device "$device" \
      --only "$name" >"$work/runs/$name/train.log" 2>&1 &
  done
  wait
  echo "candidates $ONLY: wall $(($(date +%s) - start)) s" | tee -a "$log"
else
echo "== training throughput (GPU) ==" | tee -a "$log"
INKLING_QUICKDRAW_DIR=$work/data timeout 90 python3 benchmarks/bench_training.py --device "$device" --steps 200 2>&1 | tee -a "$log"

echo "== retrain (deadline ${deadline}s) ==" | tee -a "$log"
start=$(date +%s)
timeout "$deadline" python3 -m inkling.training.retrain --data "$work/data" --runs "$work/runs" --base --jobs 3 \
  --device "$device" --out "$work/model/default.onnx" 2>&1 | tee -a "$log"
echo "retrain exit $?, wall $(($(date +%s) - start)) s" | tee -a "$log"
fi

for run in "$work"/runs/*/; do
  name=$(basename "$run")
  [ "$name" = default-ensemble ] && continue  # rebuilt from the members
  [ -f "$run/train.log" ] && { echo "== $name =="; grep -a -E "^(epoch [0-9]+:|validation|test:|exported|[0-9]+ classes)" "$run/train.log"; tail -c 600 "$run/train.log"; echo; } >>"$log"
  [ -f "$run/final.pt" ] || continue
  tar -czf "$OUT/run-$name.tar.gz" -C "$work/runs" \
    $(cd "$work/runs" && ls -d "$name"/final.pt "$name"/metrics.json "$name"/config.json "$name"/curves.png "$name"/confusion.png 2>/dev/null)
done
[ -f "$work/model/default.onnx" ] && tar -czf "$OUT/model.tar.gz" -C "$work/model" .
ls -la "$OUT" | tee -a "$log"
