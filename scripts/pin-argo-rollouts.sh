#!/usr/bin/env bash
# Downloads the Argo Rollouts install.yaml release asset the kind backend
# installs and prints its sha256, so the pin in
# src/pins.rs (ARGO_ROLLOUTS_INSTALL) can be recorded,
# or passed once as `zonechaos cluster up --argo-sha256 <digest>`.
# The asset is NOT the git tag's manifests/install.yaml (the release build
# sets the controller image tag), so hash the downloaded file.
# Usage: scripts/pin-argo-rollouts.sh [VERSION]   (default v1.9.1)
set -euo pipefail
version=${1:-v1.9.1}
url="https://github.com/argoproj/argo-rollouts/releases/download/${version}/install.yaml"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp" "$url"
if ! grep -q "quay.io/argoproj/argo-rollouts:${version}" "$tmp"; then
  echo "warning: $url does not name the image quay.io/argoproj/argo-rollouts:${version}" >&2
fi
digest=$(sha256sum "$tmp" | cut -d' ' -f1)
echo "url:    $url"
echo "sha256: $digest"
echo "record: sha256: Sha256Pin::Verified(\"$digest\") in src/pins.rs"
