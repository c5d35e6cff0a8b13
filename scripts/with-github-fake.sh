#!/usr/bin/env bash
# Runs a command with one GitHub fake (prism in front of sim.github) up for its whole length:
#   scripts/with-github-fake.sh cargo test
# Every run of the binary in the tests reports to GitHub as on a real runner (github-token
# defaults to the job's token); a test that brings no fake of its own reports to this one,
# found through ECS_DEPLOY_TEST_GITHUB_API and ECS_DEPLOY_TEST_GITHUB_CONTROL. Starting it once
# here saves each test binary the 10-20 s of prism loading GitHub's OpenAPI description.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ready=$(mktemp)
.venv/bin/python -m sim.github --port 0 --no-stdin-watch > "$ready" &
fake=$!
cleanup() {
  kill "$fake" 2> /dev/null || true
  wait "$fake" 2> /dev/null || true
  rm -f "$ready"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
  if grep -q '^READY ' "$ready"; then break; fi
  kill -0 "$fake" 2> /dev/null || { echo "with-github-fake: the GitHub fake exited" >&2; exit 1; }
  sleep 0.1
done
line=$(grep -m1 '^READY ' "$ready") || { echo "with-github-fake: the fake was not ready in 60 s" >&2; exit 1; }
api=${line#READY }
api=${api%% *}
export ECS_DEPLOY_TEST_GITHUB_API=$api
export ECS_DEPLOY_TEST_GITHUB_CONTROL=${line##*control=}
"$@"
