#!/bin/sh
# The action's one build: a static musl binary and the CA roots, put in OUT.
#
#   scripts/build-binary.sh OUT [PROFILE]     (PROFILE: dist, the default, or dev)
#
# The Dockerfile's builder stage runs it (from source: `@main` users and the release), and CI
# runs it on the host and puts its output in the image it tests (tests/image.rs,
# scripts/build-image.sh). POSIX sh: the builder image (rust:alpine) has no bash.
# Ends with the smoke check: started with no inputs, the binary must exit 2 (invalid input).
set -eu
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/build-binary.sh OUT [PROFILE]}
profile=${2:-dist}
target=x86_64-unknown-linux-musl
case $profile in
  dev) dir=debug ;;
  *) dir=$profile ;;
esac

cargo build --profile "$profile" --target "$target" --locked --bin ecs-deploy-action
mkdir -p "$out"
install -m 0555 "target/$target/$dir/ecs-deploy-action" "$out/ecs-deploy-action"
install -m 0444 "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$out/ca-certificates.crt"

rc=0
env -i "$out/ecs-deploy-action" > /dev/null 2>&1 || rc=$?
if [ "$rc" -ne 2 ]; then
  echo "build-binary: smoke check: expected exit 2 (invalid input) with no inputs, got $rc" >&2
  exit 1
fi
echo "build-binary: $out/ecs-deploy-action ($profile), smoke check ok"
