#!/usr/bin/env bash
# Installs what building and testing wolfguard needs on Debian 12. Safe to run again.
#   build:  wolfssl-sys runs autoreconf + configure + make and bindgen (libclang)
#   tests:  the real openconnect client, iperf3, iproute2 (netns, veth), nftables, openssl
#   bench:  ocserv for the side-by-side comparison
#   plugins: the wasm32-wasip2 Rust target, to build WASM plugin components
set -euo pipefail
if command -v rustup >/dev/null; then
  rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 \
    || rustup target add wasm32-wasip2
fi
packages=(
  build-essential autoconf automake libtool patch clang pkg-config
  openssl ca-certificates iproute2 iputils-ping nftables procps
  openconnect iperf3 ocserv gnutls-bin jq
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# ocserv's package starts a system service on port 443; the benchmark starts its own instance.
if systemctl list-unit-files ocserv.service >/dev/null 2>&1; then
  systemctl disable --now ocserv.service ocserv.socket >/dev/null 2>&1 || true
fi
