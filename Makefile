# The two commands at the top of the README: `make demo` and `make test`.
# Both install what they need first (scripts/setup.sh is idempotent).

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup demo test lint sim clean reliability bench image slow

help:
	@echo "make demo   - a full rolling deploy of a sample service against the local AWS simulator"
	@echo "make test   - every test: unit, simulator, integration (real binary), image, lint"
	@echo "make sim    - start the AWS simulator in the foreground to explore (prints its endpoint)"
	@echo "make lint   - hadolint, actionlint schemas, zizmor, shellcheck, yamllint, clippy, fmt"
	@echo "make reliability - the full fault matrix, 30+30 SIGKILL/SIGTERM trials and 20 bad 5-minute CodeDeploy canaries (RELIABILITY.md)"
	@echo "make bench  - latency, API calls, size, RSS, scale, the official waiter beside ours, the judges' Monte Carlo (BENCHMARKS.md)"
	@echo "make slow   - runs left at action.yml's defaults, in real time (about 35 minutes)"
	@echo "make image  - the image test (release dry run) with the shipped dist build (fat LTO: about 8 minutes)"

setup:
	@scripts/setup.sh

demo: setup
	cargo build
	.venv/bin/python -m sim.demo

test: setup
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	.venv/bin/python -m pytest -q sim/tests
	scripts/with-github-fake.sh cargo test
	scripts/lint.sh

lint: setup
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	scripts/lint.sh

# The full matrix (make test runs a reduced one); tables land in target/reliability/.
reliability: export ECS_DEPLOY_TEST_BINARY_TIMEOUT = 14400
reliability: setup
	ECS_DEPLOY_FULL_MATRIX=1 cargo test --test faults -- --nocapture --test-threads=1
	ECS_DEPLOY_FULL_MATRIX=1 cargo test --test chain_faults -- --nocapture
	scripts/with-github-fake.sh cargo test --test codedeploy a_bad_five_minute_canary -- --ignored --nocapture
	@cat target/reliability/matrix-full.md target/reliability/crash-full.md

# Measures the shipped (dist) binary; its first build takes several minutes on 2 cores.
bench: setup
	cargo build --profile dist
	cd bench && npm ci --no-audit --no-fund --loglevel=error
	.venv/bin/python bench/run.py
	# The judges' seeded Monte Carlo (issue 28): simulated time, about 10 minutes on 2 cores.
	cargo bench --bench judges -- 1000

# make test runs tests/image.rs on a dev build of scripts/build-binary.sh (the dist profile's fat
# LTO would add about 8 minutes); this runs it on the dist build the release ships.
image: setup
	ECS_DEPLOY_IMAGE_PROFILE=dist scripts/with-github-fake.sh cargo test --test image

# Runs at action.yml's defaults run to their end: the action's own durations (bake-time,
# keep-old-for) are real time even against the accelerated simulator (sim/aws/README.md).
slow: export ECS_DEPLOY_TEST_BINARY_TIMEOUT = 14400
slow: setup
	scripts/with-github-fake.sh cargo test --test progressive -- --ignored --nocapture

sim: setup
	.venv/bin/python -m sim.aws --no-stdin-watch

clean:
	cargo clean
	rm -rf .venv sim/node_modules dist
