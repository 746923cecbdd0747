#!/usr/bin/env bash
# Builds the npm package `localrec` into pkg/:
#   cargo (wasm32-unknown-unknown) -> wasm-bindgen --target web -> src/web/npm/package.mjs
# Usage: src/web/npm/build.sh [--dev]   (default: release; --dev builds faster, runs slower)
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli of the version Cargo.lock names
# (.ci/run installs both), node.
set -euo pipefail
cd "$(dirname "$0")/../../.."
profile=release
flags=(--release)
if [ "${1:-}" = "--dev" ]; then profile=debug; flags=(); fi
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --lib --target wasm32-unknown-unknown "${flags[@]}"
wasm="$target_dir/wasm32-unknown-unknown/$profile/localrec.wasm"
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name localrec "$wasm"
node src/web/npm/package.mjs
ls -l pkg/localrec_bg.wasm
