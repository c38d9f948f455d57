#!/usr/bin/env bash
# Local-backend benchmark (figures go to BENCHMARKS.md): runs a suite N
# times on real Envoy and Prometheus and prints, per run, the mesh start-up
# time (Prometheus, pods, Envoys and load clients ready), the whole run's
# wall time, the harness's own CPU share while the load ran, and the
# measured vs predicted failover latency.
# Usage: scripts/bench-local.sh [SUITE] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-suites/zone-c-spot-loss.yaml}
runs=${2:-3}
./scripts/install-deps.sh 2>/dev/null
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-4s %-10s %-9s %-12s %-22s %s\n' run startup wall harness-cpu "failover (pred/meas)" verdict
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  ./target/release/zonechaos run "$suite" --backend local --report-dir "$out" >"$out/stdout" 2>"$out/stderr" || true
  end=$(date +%s.%N)
  startup=$(grep -o 'mesh ready in [0-9]* ms' "$out/stderr" | grep -o '[0-9]*' || echo '?')
  cpu=$(grep -o '([0-9.]*% of one core' "$out/stderr" | tr -d '(' | cut -d' ' -f1 || echo '?')
  failover=$(grep -E '^\| us-east-1. +\|' "$out/stdout" | awk -F'|' '{gsub(/ /,"",$3); gsub(/ /,"",$4); print $3"/"$4}' | head -n 1)
  verdict=$(grep -oE '^(PASSED|FAILED|ERROR)' "$out/stdout" | head -n 1)
  printf '%-4s %-10s %-9s %-12s %-22s %s\n' "$i" "${startup}ms" "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}')s" "$cpu" "${failover:-n/a}" "${verdict:-?}"
done
