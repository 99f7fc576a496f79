#!/usr/bin/env bash
# Builds llama.cpp's own HTTP server (`llama-server`) from the exact llama.cpp source that the installed
# node-llama-cpp bundles, CPU-only, Release. It is the reference LMX's engine speed is compared with
# (bench/engine-speed.ts, env LMX_LLAMA_SERVER); nothing in LMX needs it to run. Opt-in: it takes a
# while on few cores (~10-20 min on 2 vCPUs) and needs git, cmake and a C++17 compiler; nothing is
# downloaded (the source is node-llama-cpp's git bundle, the web UI and HTTPS are left out).
#
#   scripts/build-llama-server.sh [output-dir]       (default: ~/.cache/lmx/llama-server)
#   LMX_LLAMA_SERVER=<output-dir>/bin/llama-server npx tsx bench/engine-speed.ts
#
# Environment: JOBS (parallel compile jobs, default: all cores), CMAKE_ARGS (extra -D options, e.g.
# "-DGGML_NATIVE=OFF -DGGML_AVX2=ON" for a portable binary, or "-DGGML_OPENMP=OFF" to use ggml's own
# thread pool as node-llama-cpp's prebuilt binaries do).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="$repo_root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
info="$repo_root/node_modules/node-llama-cpp/llama/llama.cpp.info.json"
out="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/lmx/llama-server}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

for tool in git cmake c++; do
  command -v "$tool" >/dev/null || { echo "build-llama-server: '$tool' is required" >&2; exit 1; }
done
[[ -f "$bundle" ]] || { echo "build-llama-server: $bundle not found (run npm install first)" >&2; exit 1; }

mkdir -p "$out"
src="$out/src"
build="$out/build"

# A fresh checkout when the bundle changed (node-llama-cpp was upgraded); otherwise reuse it, so a
# rebuild with other CMAKE_ARGS is incremental.
stamp="$(sha256sum "$bundle" | cut -c1-16)"
if [[ ! -f "$out/.bundle-stamp" || "$(cat "$out/.bundle-stamp")" != "$stamp" ]]; then
  rm -rf "$src" "$build"
  git clone --quiet "$bundle" "$src"
  echo "$stamp" >"$out/.bundle-stamp"
fi

# shellcheck disable=SC2086 # CMAKE_ARGS is a list of words on purpose
cmake -S "$src" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
  ${CMAKE_ARGS:-}
cmake --build "$build" --config Release --target llama-server -j "$jobs"

mkdir -p "$out/bin"
cp "$build/bin/llama-server" "$out/bin/llama-server"
cp "$info" "$out/llama.cpp.info.json"
echo "$out/bin/llama-server"
