#!/usr/bin/env bash
# Runs one suite on the best backend this machine has, and says which.
#   kind  : a Docker engine answering and `kind` on PATH (also needs kubectl
#           and istioctl; the cluster is created on first use and kept for
#           the next run with --reuse, see README "kind backend")
#   local : real Envoy + Prometheus + echo/load processes (installed by
#           scripts/install-deps.sh)
#   sim   : the model alone, virtual clock (fallback when Envoy or
#           Prometheus cannot be installed)
# ZONECHAOS_BACKEND=kind|local|sim forces one.
# Usage: scripts/chaos.sh SUITE [extra zonechaos run flags]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: scripts/chaos.sh SUITE}
shift || true

have_kind() {
  command -v kind >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
    && command -v kubectl >/dev/null 2>&1 && command -v istioctl >/dev/null 2>&1
}
have_local() { command -v prometheus >/dev/null 2>&1 && { command -v envoy >/dev/null 2>&1 || [ -e .venv/bin/envoy ] || [ -n "$(find .venv -type f -name envoy -perm -u+x 2>/dev/null | head -n 1)" ]; }; }

backend=${ZONECHAOS_BACKEND:-}
why=""
if [ -z "$backend" ]; then
  if have_kind; then
    backend=kind; why="Docker engine, kind, kubectl and istioctl found"
  else
    why="no Docker engine, kind, kubectl or istioctl on this machine"
    ./scripts/install-deps.sh
    if have_local; then
      backend=local; why="$why; real Envoy and Prometheus found"
    else
      backend=sim; why="$why; Envoy or Prometheus missing (see above)"
    fi
  fi
else
  why="ZONECHAOS_BACKEND=$backend"
  if [ "$backend" = local ]; then ./scripts/install-deps.sh; fi
fi
echo "zonechaos: backend $backend ($why)" >&2
extra=()
if [ "$backend" = kind ]; then
  extra=(--reuse)
fi
exec cargo run --release --quiet -- run "$suite" --backend "$backend" --report-dir reports "${extra[@]}" "$@"
