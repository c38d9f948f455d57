#!/usr/bin/env bash
# Runs one suite on the best backend this machine has, and says which.
#   kind  : Docker engine answering and `kind` on PATH  (not in this version yet)
#   local : real Envoy + Prometheus + echo/load processes (installed by scripts/install-deps.sh)
#   sim   : the model alone, virtual clock (fallback when Envoy or Prometheus cannot be installed)
# Usage: scripts/chaos.sh SUITE [extra zonechaos run flags]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: scripts/chaos.sh SUITE}
shift || true

if command -v kind >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "zonechaos: Docker and kind found, but the kind backend is not in this version yet (see README, Status); using local." >&2
fi
./scripts/install-deps.sh
backend=local
if ! command -v prometheus >/dev/null 2>&1 || { ! command -v envoy >/dev/null 2>&1 && [ ! -e .venv/bin/envoy ]; }; then
  echo "zonechaos: Envoy or Prometheus is missing (see above); falling back to sim (the model alone)." >&2
  backend=sim
fi
echo "zonechaos: backend $backend" >&2
exec cargo run --release --quiet -- run "$suite" --backend "$backend" --report-dir reports "$@"
