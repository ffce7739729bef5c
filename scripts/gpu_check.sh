#!/usr/bin/env bash
# The GPU check in one run, under 8 minutes on one H200, without network:
#   scripts/gpu_wheels.sh               beforehand, with network: the wheels into .whl/ (they travel with the check)
#   scripts/gpu_check.sh OUT_DIR        on the GPU machine; every result goes under OUT_DIR
# Steps: install what pip resolves the machine needs from .whl/ (into OUT_DIR, never over its torch), record the
# environment, a CPU smoke chunk on the tiny preset, then (only with a CUDA device) tests/gpu and
# `bench --preset bench-gpu --json --baseline` at 50 and 25 steps, and the README table (summary.md).
# Without a CUDA device it says so after the smoke chunk and exits 0. PYTHON picks the interpreter.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/gpu_check.sh OUT_DIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
python=${PYTHON:-python3}
exec > >(tee "$out/gpu_check.log") 2>&1

step() { echo "== $(date -u +%H:%M:%S) $*"; }

step "1. packages from .whl/ (no network; resolved against this machine, its torch and transformers kept)"
"$python" -m studio.gpu_check install --wheels .whl --target "$out/site-packages" || exit 1
export PYTHONPATH="$out/site-packages:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False

step "2. environment (the versions this check runs)"
"$python" -m studio.gpu_check env | tee "$out/env.json" || exit 1

step "3. one tiny chunk on the CPU (the installed stack works)"
timeout 120 "$python" -m studio.gpu_check smoke "$out" | tee "$out/smoke_tiny.json"
(( PIPESTATUS[0] == 0 )) || { echo "the tiny chunk failed: see the lines above"; exit 1; }

step "4. CUDA"
if ! "$python" -m studio.gpu_check has-cuda; then
  echo "no CUDA device is present: tests/gpu and the bench-gpu runs need one; results so far are in $out"
  exit 0
fi

# The bench-gpu preset without the refiner (its seam metric needs OpenCV, too large to bring, and its
# figures are not part of this check's table).
sed 's/^  refine: true$/  refine: false/' presets/bench-gpu.yaml > "$out/bench-gpu-check.yaml"
status=0

step "5. tests/gpu"
timeout 100 "$python" -m pytest tests/gpu -q -p no:cacheprovider --junitxml "$out/tests_gpu.xml" \
  > "$out/tests_gpu.txt" 2>&1 || status=1
tail -5 "$out/tests_gpu.txt"

step "6. bench-gpu at 50 steps (2, 4, 8 chunks, baseline)"
timeout 240 "$python" -m studio bench --preset "$out/bench-gpu-check.yaml" --steps 50 --json --baseline \
  > "$out/bench_50.json" 2> "$out/bench_50.err" || { status=1; tail -5 "$out/bench_50.err"; }

step "7. bench-gpu at 25 steps (2 chunks, baseline)"
timeout 120 "$python" -m studio bench --preset "$out/bench-gpu-check.yaml" --steps 25 --chunks 2 --json --baseline \
  > "$out/bench_25.json" 2> "$out/bench_25.err" || { status=1; tail -5 "$out/bench_25.err"; }

step "8. the table"
"$python" -m studio.gpu_check summary "$out" | tee "$out/summary.md" || status=1
step "done (status $status); results in $out"
exit $status
