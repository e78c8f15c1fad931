#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds (default 10). cargo-fuzz needs nightly features;
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain this project builds with.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
if ! command -v cargo-fuzz >/dev/null; then
  echo "installing cargo-fuzz from crates.io"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
for dir in core/proto/fuzz config/fuzz plugin-api/fuzz; do
  for target in $(cd "$dir" && cargo fuzz list); do
    echo "fuzz: $dir $target (${secs}s)"
    (cd "$dir" && cargo fuzz run "$target" -- -max_total_time="$secs" -print_final_stats=0 2>&1 | tail -n 2)
  done
done
