#!/usr/bin/env bash
# Train the shipped model's network on a lent GPU machine, in one call, and bring the run back.
#
#   OUT=/some/dir benchmarks/gpu_retrain.sh DATA.tar.xz [SECONDS]
#
# DATA.tar.xz holds quickdraw/ (bitmaps/, strokes/raw|simplified|extra/, stroke_bitmap_overlap.json) and
# omniglot/ (the BACKGROUND_ALPHABETS of training/recipes.py: Korean.ndjson, Balinese.ndjson), since the GPU
# machine cannot see ../shared. Made from ../shared/data with xz it is about 51 MiB, under the device
# tool's 64 MiB (gzip is over it):
#
#   tar -cf - -C ../shared/data quickdraw/bitmaps quickdraw/strokes quickdraw/stroke_bitmap_overlap.json \
#     omniglot/Korean.ndjson omniglot/Balinese.ndjson | xz -6 >gpu/DATA.tar.xz   # gpu/ ignored and carried
#
# The script prints the training step against the render pipeline on this machine
# (benchmarks/bench_training.py --device cuda), then trains RECIPES["default"] as
# `python -m inkling.training.retrain --device cuda` does (warm-started from training/base/inkling-345-v1.onnx,
# the two alphabets as background classes, into runs/default-345), with RENDER_WORKERS render processes
# (default 8) instead of the recipe's one: the GPU step outruns one worker, and the workers change no
# result (every chunk is seeded apart). It stops at SECONDS (default 480) and brings back under $OUT the
# run folder default-345/ (final.pt, last.pt, metrics.json, config.json, curves.png), default.onnx and
# log.txt. On this machine then:
#
#   python -m inkling.training.retrain --data ../shared/data/quickdraw --omniglot ../shared/data/omniglot \
#     --runs DIR --resume      # DIR/default-345 is the run that came back
#
# trains the remaining epochs of an unfinished first stage, then the second stage (RECIPES["polish"], into
# DIR/default-345-polish) on this machine, exports resources/models/default.onnx, chooses its references,
# measures the app's path and writes the model card. (This script trains the first stage only.)
# TRAIN_ARGS adds `inkling-train train` options (e.g. "--recipe smoke --classes cat,apple,anvil --epochs 1" to try the
# script out); DEVICE=cpu runs it without a GPU.
set -u -o pipefail
data_tar=${1:?usage: OUT=dir $0 DATA.tar.xz [SECONDS]}
deadline=${2:-480}
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
device=${DEVICE:-cuda}
workers=${RENDER_WORKERS:-8}
repo=$(pwd)
log=$OUT/log.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/runs"
tar -xf "$data_tar" -C "$work"
# The project's folders under its import name, where it is not installed (the machine's python has torch,
# onnx and onnxruntime).
if ! python3 -c 'import inkling.training.train' 2>/dev/null; then
  mkdir -p "$work/pkg/inkling"
  for d in model desktop training resources; do ln -s "$repo/$d" "$work/pkg/inkling/$d"; done
  export PYTHONPATH=$work/pkg${PYTHONPATH:+:$PYTHONPATH}
fi
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, onnx, onnxruntime; print("torch", torch.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'
} 2>&1 | tee "$log"

echo "== training step against the render pipeline ==" | tee -a "$log"
timeout 120 python3 benchmarks/bench_training.py --data "$work/quickdraw" --device "$device" --seconds 5 2>&1 | tee -a "$log"

echo "== train (deadline ${deadline}s, $workers render workers) ==" | tee -a "$log"
run=$work/runs/default-345
start=$(date +%s)
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of options
timeout "$deadline" python3 -m inkling.training train --recipe default --data "$work/quickdraw" --out "$run" \
  --init-from training/base/inkling-345-v1.onnx \
  --background "$work/omniglot/Korean.ndjson" --background "$work/omniglot/Balinese.ndjson" \
  --device "$device" --render-workers "$workers" --export "$OUT/default.onnx" ${TRAIN_ARGS:-} 2>&1 | tee -a "$log"
echo "train exit $?, wall $(($(date +%s) - start)) s" | tee -a "$log"

# At most 8 files come back, 16 MiB each: the run's files one by one (last.pt is about 14 MB).
mkdir -p "$OUT/default-345"
for f in final.pt last.pt metrics.json config.json curves.png; do
  [ -f "$run/$f" ] && cp "$run/$f" "$OUT/default-345/"
done
ls -la "$OUT" "$OUT/default-345" | tee -a "$log"
