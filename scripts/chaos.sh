#!/usr/bin/env bash
# Runs one suite on the best backend this machine has, and says which.
#   kind  : Docker engine answering and `kind` on PATH   (not in this version yet)
#   local : real Envoy + Prometheus processes            (not in this version yet)
#   sim   : the model alone, virtual clock, always available
# Usage: scripts/chaos.sh SUITE [extra zonechaos run flags]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: scripts/chaos.sh SUITE}
shift || true

backend=sim
if command -v kind >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "zonechaos: Docker and kind found, but the kind backend is not in this version yet (see README, Status)." >&2
fi
echo "zonechaos: the local backend (real Envoy and Prometheus) is not in this version yet; running on sim (the model alone, virtual clock)." >&2

exec cargo run --release --quiet -- run "$suite" --backend "$backend" --report-dir reports "$@"
