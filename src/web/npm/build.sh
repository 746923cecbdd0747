#!/usr/bin/env bash
# Builds the npm package `localrec` into pkg/:
#   cargo (wasm32-unknown-unknown) -> wasm-bindgen --target web -> src/web/npm/package.mjs
#   -> src/web/npm/check-types.mjs
# (the steps `wasm-pack build --target web` takes; wasm-pack cannot download its tools here),
# failing when the TypeScript declarations (src/web/npm/types.d.ts) and the exports disagree.
# Usage: src/web/npm/build.sh [--dev | --tools]
#   --dev    builds faster, runs slower (default: release)
#   --tools  only installs what the build needs: the wasm32-unknown-unknown target and the
#            wasm-bindgen CLI of exactly the version Cargo.lock names (done by every build too)
# Needs: rustup, cargo, node.
set -euo pipefail
cd "$(dirname "$0")/../../.."

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
wbg_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg_version"; then
  # Not --locked: the CLI's lock file pins a webpki-roots that no longer builds.
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi
if [ "${1:-}" = "--tools" ]; then exit 0; fi

profile=release
flags=(--release)
if [ "${1:-}" = "--dev" ]; then profile=debug; flags=(); fi
target_dir="${CARGO_TARGET_DIR:-target}"
wasm="$target_dir/wasm32-unknown-unknown/$profile/localrec.wasm"
rm -rf pkg
# The two builds of the module: with WebGPU (localrec.js) and CPU-only (localrec_cpu.js).
cargo build --lib --target wasm32-unknown-unknown "${flags[@]}" --features webgpu
wasm-bindgen --target web --out-dir pkg --out-name localrec "$wasm"
cargo build --lib --target wasm32-unknown-unknown "${flags[@]}"
wasm-bindgen --target web --out-dir pkg --out-name localrec_cpu "$wasm"
node src/web/npm/package.mjs
node src/web/npm/check-types.mjs pkg
ls -l pkg/localrec_bg.wasm pkg/localrec_cpu_bg.wasm
