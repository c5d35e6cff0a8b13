#!/usr/bin/env bash
# Installs what the demo and the tests need, and only what is missing: safe to run every time.
# Rust (rustup) must exist; everything else comes from the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v musl-gcc >/dev/null 2>&1 || need_apt+=(musl-tools)
command -v buildah >/dev/null 2>&1 || need_apt+=(buildah)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  echo "setup: rustup target add x86_64-unknown-linux-musl"
  rustup target add x86_64-unknown-linux-musl
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: python virtualenv .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements-installed
if [ ! -f "$stamp" ] || ! cmp -s sim/requirements.txt "$stamp"; then
  echo "setup: pip install -r sim/requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r sim/requirements.txt
  cp sim/requirements.txt "$stamp"
fi

if [ ! -d sim/node_modules/@stoplight/prism-cli ] || [ sim/package-lock.json -nt sim/node_modules/.package-lock.json ]; then
  echo "setup: npm ci (prism, GitHub's OpenAPI description, webhook examples)"
  (cd sim && npm ci --no-audit --no-fund --loglevel=error)
fi
