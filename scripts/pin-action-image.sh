#!/usr/bin/env bash
# Pins action.yml's image to a published one by digest, for a release commit:
#   scripts/pin-action-image.sh ghcr.io/owner/ecs-deploy-action@sha256:<64 hex>
# Only `runs.image` changes; anything but a digest-pinned reference is refused.
set -euo pipefail

ref=${1:-}
if ! [[ $ref =~ ^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$ ]]; then
  echo "usage: $0 REGISTRY/REPOSITORY@sha256:<64 hex digits> (got '${ref}')" >&2
  exit 2
fi
file=${ACTION_FILE:-action.yml}
if [[ $(grep -c '^  image: ' "$file") -ne 1 ]]; then
  echo "$file: expected exactly one '  image:' line under runs" >&2
  exit 1
fi
tmp=$(mktemp)
sed "s|^  image: .*\$|  image: docker://${ref}|" "$file" > "$tmp"
mv "$tmp" "$file"
grep '^  image: ' "$file"
