#!/usr/bin/env bash
# Builds wolfguard and starts it on a fresh Debian 12 machine: `sudo ./scripts/quickstart.sh`.
#
# First run: installs the build packages, builds a release binary, creates a self-signed
# certificate, a configuration and a first user in ./dev-state (the generated password is printed
# once), then runs the server in the foreground on 0.0.0.0:443. Later runs reuse ./dev-state.
# Override the directory with WOLFGUARD_DIR=/etc/wolfguard.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain (1.85+) with rustup" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  echo "wolfguard needs root (CAP_NET_ADMIN) to create its TUN device: sudo $0" >&2
  exit 1
fi
./scripts/install-deps.sh
# The daemon and the auth-local plugin it loads for the password file (next to the binary).
cargo build --release -p wolfguard -p wolfguard-plugin-auth-local
dir=${WOLFGUARD_DIR:-$PWD/dev-state}
./target/release/wolfguard init --dir "$dir"
./target/release/wolfguard check-config "$dir/wolfguard.toml"
echo "starting wolfguard (Ctrl-C stops it)"
exec ./target/release/wolfguard --config "$dir/wolfguard.toml"
