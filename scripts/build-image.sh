#!/usr/bin/env bash
# Build the action's image from a binary built on this host, with buildah (no Docker engine),
# then smoke-test it: started with no inputs, the binary must report the missing inputs as
# ::error lines and exit 2.
#
#   scripts/build-image.sh [BINARY]
#
#   BINARY      a static binary (default: the debug musl build,
#               target/x86_64-unknown-linux-musl/debug/ecs-deploy-action)
#   IMAGE       image name (default ecs-deploy-action:test)
#   CA_BUNDLE   CA roots to ship (default /etc/ssl/certs/ca-certificates.crt)
#   SMOKE=0     skip the smoke test
#
# Re-runnable: containers from an earlier image of that name, and the image, are removed first.
# Needs root (buildah with the vfs driver and chroot isolation, as on this machine and CI).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

binary=${1:-target/x86_64-unknown-linux-musl/debug/ecs-deploy-action}
image=${IMAGE:-ecs-deploy-action:test}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
smoke=${SMOKE:-1}
bah=(buildah --storage-driver vfs)

die() {
  echo "build-image: $*" >&2
  exit 1
}

command -v buildah > /dev/null || die "buildah is not installed (apt-get install -y buildah)"
[[ -f $binary ]] || die "no binary at $binary (build it first: cargo build --target x86_64-unknown-linux-musl)"
[[ -f $ca_bundle ]] || die "no CA bundle at $ca_bundle"
# A FROM scratch image has no loader and no libc: the binary must be static.
if command -v file > /dev/null; then
  info=$(file -L "$binary")
  [[ $info == *ELF* ]] || die "$binary is not an ELF executable: $info"
  [[ $info == *"statically linked"* || $info == *static-pie* ]] || die "$binary is not static: $info"
fi

mkdir -p dist
install -m 0555 "$binary" dist/ecs-deploy-action
install -m 0444 "$ca_bundle" dist/ca-certificates.crt

# Idempotence: drop working containers made from an earlier image of this name, then the image.
# `buildah containers` prints the name the image was pulled or built as (localhost/NAME:TAG).
while read -r id from; do
  if [[ $from == "$image" || $from == "localhost/$image" ]]; then
    "${bah[@]}" rm "$id" > /dev/null
  fi
done < <("${bah[@]}" containers --noheading --format '{{.ContainerID}} {{.ImageName}}')
if "${bah[@]}" inspect --type image "$image" > /dev/null 2>&1; then
  "${bah[@]}" rmi -f "$image" > /dev/null
fi

log=$(mktemp)
cleanup() {
  rm -f "$log"
  if [[ -n ${ctr:-} ]]; then "${bah[@]}" rm "$ctr" > /dev/null 2>&1 || true; fi
}
trap cleanup EXIT

start=$(date +%s%N)
"${bah[@]}" bud --isolation chroot --build-arg BINARY_FROM=prebuilt -t "$image" . 2>&1 | tee "$log"
end=$(date +%s%N)
build_ms=$(((end - start) / 1000000))

# buildah keeps each intermediate stage (here: prebuilt, binary) as an unnamed image, with a
# working container on it. Remove the ones this build made ("--> ID" lines), never anyone else's.
final_id=$("${bah[@]}" inspect --type image --format '{{.FromImageID}}' "$image")
mapfile -t stage_ids < <(sed -n 's/^--> \([0-9a-f]\{11,64\}\)$/\1/p' "$log" | sort -u)
for id in "${stage_ids[@]}"; do
  if [[ $final_id == "$id"* ]]; then continue; fi
  while read -r cid image_id; do
    if [[ $image_id == "$id"* ]]; then "${bah[@]}" rm "$cid" > /dev/null; fi
  done < <("${bah[@]}" containers --noheading --format '{{.ContainerID}} {{.ImageID}}')
  "${bah[@]}" rmi "$id" > /dev/null 2>&1 || true
done

# Size: the image's layers as stored (uncompressed tar), and gzip'd as a registry would serve them.
size_bytes=$("${bah[@]}" inspect --type image --format '{{.Manifest}}' "$image" \
  | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
gzip_bytes=$(cat dist/ecs-deploy-action dist/ca-certificates.crt | gzip -6 | wc -c)
binary_bytes=$(stat -c %s dist/ecs-deploy-action)

if [[ $smoke != 0 ]]; then
  ctr=$("${bah[@]}" from "$image")
  rc=0
  out=$("${bah[@]}" run --isolation chroot "$ctr" /ecs-deploy-action 2>&1) || rc=$?
  printf '%s\n' "$out" | sed 's/^/  | /'
  [[ $rc == 2 ]] || die "smoke test: expected exit 2 (invalid input), got $rc"
  # Workflow-command properties escape ':' as %3A (GitHub's rule), so the title reads
  # "Invalid input%3A cluster" on the wire and "Invalid input: cluster" in the run's UI.
  grep -Eq '^::error title=Invalid input(:|%3A) cluster::' <<< "$out" \
    || die "smoke test: no '::error title=Invalid input: cluster::' line"
  echo "smoke test: ok (exit 2, missing inputs reported)"
fi

awk -v ms="$build_ms" -v size="$size_bytes" -v gz="$gzip_bytes" -v bin="$binary_bytes" \
  -v image="$image" 'BEGIN {
  printf "image:       %s\n", image
  printf "build time:  %.1f s (buildah bud)\n", ms / 1000
  printf "image size:  %.1f MB (%d bytes, layers uncompressed); about %.1f MB gzip-compressed\n", size / 1e6, size, gz / 1e6
  printf "binary size: %.1f MB (%d bytes)\n", bin / 1e6, bin
}'
