#!/usr/bin/env bash
# Builds the npm package `localrec` into pkg/ with wasm-pack: the two modules, then the entry
# point and package.json (src/web/npm/package.mjs), then the check that the TypeScript
# declarations (src/web/npm/types.d.ts) and the exports agree (src/web/npm/check-types.mjs).
#
#   wasm-pack build --profile wasm-webgpu -- --features webgpu  -> localrec.js, localrec_bg.wasm
#   wasm-pack build --profile wasm                              -> localrec_cpu.js, localrec_cpu_bg.wasm
#
# The profiles (Cargo.toml): whole-program optimisation (LTO, one codegen unit, panic abort);
# the WebGPU module optimised for size (its models run on the GPU), the CPU-only one for speed;
# both with WebAssembly SIMD (.cargo/config.toml). wasm-pack runs wasm-opt (npm's binaryen, on the
# PATH here; Debian's breaks the module) with the arguments in Cargo.toml's
# [package.metadata.wasm-pack.profile.custom]; it drops the function names.
#
# Usage: src/web/npm/build.sh [--fast | --tools]
#   --fast   the plain release profile, no LTO and no wasm-opt: minutes instead of a quarter of an
#            hour, the same behaviour, larger modules (for development; the tests pass on both)
#   --tools  only installs what the build needs (done by every build too): the
#            wasm32-unknown-unknown target, the wasm-bindgen CLI of exactly the version Cargo.lock
#            names, wasm-pack, and binaryen from npm
# Needs: rustup, cargo, node, npm.
set -euo pipefail
cd "$(dirname "$0")/../../.."

target_dir="${CARGO_TARGET_DIR:-target}"
tools="$target_dir/tools"
BINARYEN_VERSION=132.0.0
WASM_PACK_VERSION=0.15.1

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
wbg_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg_version"; then
  # Not --locked: the CLI's lock file pins a webpki-roots that no longer builds.
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi
if ! wasm-pack --version 2>/dev/null | grep -qx "wasm-pack $WASM_PACK_VERSION"; then
  cargo install wasm-pack --version "$WASM_PACK_VERSION"
fi
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ] || ! "$tools/node_modules/.bin/wasm-opt" --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION" >/dev/null
fi
export PATH="$(cd "$tools" && pwd)/node_modules/.bin:$PATH"
if [ "${1:-}" = "--tools" ]; then
  wasm-pack --version
  wasm-opt --version
  exit 0
fi

# wasm-pack optimises every .wasm of its output folder: one folder per module, then pkg/.
out="$(mkdir -p "$target_dir/wasm-pack" && cd "$target_dir/wasm-pack" && pwd)"
rm -rf pkg

# module NAME FOLDER PROFILE [CARGO ARGS...]: one module with wasm-pack into $out/FOLDER. With a
# profile of its own (not --fast), the wasm-bindgen and wasm-opt steps (minutes for the WebGPU
# module) are skipped when cargo's output is not newer than what they made last time.
module() {
  local name="$1" folder="$2" profile="$3"
  shift 3
  if [ "$profile" = fast ]; then
    rm -rf "${out:?}/$folder"
    wasm-pack build --target web --no-pack --out-dir "$out/$folder" --out-name "$name" --release --no-opt "$@"
    return
  fi
  cargo build --lib --target wasm32-unknown-unknown --profile "$profile" "${@:2}"
  local built="$target_dir/wasm32-unknown-unknown/$profile/localrec.wasm"
  if [ -f "$out/$folder/${name}_bg.wasm" ] && [ "$out/$folder/${name}_bg.wasm" -nt "$built" ]; then
    echo "$name: up to date ($out/$folder)"
    return
  fi
  rm -rf "${out:?}/$folder"
  wasm-pack build --target web --no-pack --out-dir "$out/$folder" --out-name "$name" --profile "$profile" "$@"
}

if [ "${1:-}" = "--fast" ]; then
  module localrec webgpu fast -- --features webgpu
  module localrec_cpu cpu fast --
else
  module localrec webgpu wasm-webgpu -- --features webgpu
  module localrec_cpu cpu wasm --
fi
mkdir pkg
cp "$out"/webgpu/* "$out"/cpu/* pkg/
node src/web/npm/package.mjs
node src/web/npm/check-types.mjs pkg
ls -l pkg/localrec_bg.wasm pkg/localrec_cpu_bg.wasm
