# syntax=docker/dockerfile:1
#
# The action's image: one static binary and the CA roots, on an empty base.
#
#   Release (CI):  docker buildx build .                      builds the binary from source
#   Here (no registry but the package ones, so no rust image can be pulled):
#                  scripts/build-image.sh [BINARY]            takes a binary built on the host
#                  (= buildah bud --build-arg BINARY_FROM=prebuilt ..., with dist/ filled)
#
# Both paths end in the same final stage. BuildKit and buildah only build the stages the
# final one needs, so with BINARY_FROM=prebuilt the builder stage is never pulled or run.
# buildah (1.28) resolves `FROM ${BINARY_FROM}` to a stage only when the value is passed with
# --build-arg, not from the default below: build from source there with
# `--build-arg BINARY_FROM=builder` (the release workflow passes it too). BuildKit needs neither.
# The builder image is named in full (docker.io/library/...) so buildah and podman find it.

# Which stage supplies /out/ecs-deploy-action and /out/ca-certificates.crt: builder | prebuilt.
ARG BINARY_FROM=builder

# ---------------------------------------------------------------------------------------------
# builder: the dist profile (fat LTO, strip, panic=abort) as a static musl binary.
# The toolchain matches the one the project is developed with (Cargo.toml's rust-version is
# the minimum). The image already carries gcc and musl-dev, which ring and aws-lc-sys need.
FROM docker.io/library/rust:1.95-alpine3.23 AS builder
WORKDIR /src

# Dependencies first, in a layer that changes only with the manifests: a stub crate with the
# same targets compiles every dependency, then the real sources replace it.
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --profile dist --target x86_64-unknown-linux-musl --locked \
 && rm -rf src

COPY src ./src
COPY scripts/build-binary.sh ./scripts/
# touch: COPY may keep mtimes older than the stub's build, and cargo would then keep the stub.
# scripts/build-binary.sh is the build CI runs on the host and tests in the image (it ends with
# the smoke check: with no inputs the binary must exit 2).
RUN touch src/main.rs src/lib.rs \
 && scripts/build-binary.sh /out dist

# ---------------------------------------------------------------------------------------------
# prebuilt: a static binary and a CA bundle put in dist/ by scripts/build-image.sh.
FROM scratch AS prebuilt
COPY dist/ecs-deploy-action dist/ca-certificates.crt /out/

# ---------------------------------------------------------------------------------------------
FROM ${BINARY_FROM} AS binary

# ---------------------------------------------------------------------------------------------
# The image. No shell, no package manager, no USER: GitHub runs Docker actions as the
# image's default user (root) with the workspace mounted, and the files below are readable
# and executable by any uid, so nothing depends on which user runs it.
FROM scratch

LABEL org.opencontainers.image.title="ecs-deploy-action" \
      org.opencontainers.image.description="GitHub Action: deploy container images to Amazon ECS, pinned by digest, rolling, blue/green, canary and linear, judged on CloudWatch and rolled back on any failure." \
      org.opencontainers.image.source="https://github.com/ecs-deploy-action/ecs-deploy-action" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=binary --chmod=0444 /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary --chmod=0555 /out/ecs-deploy-action /ecs-deploy-action

# The TLS clients (AWS SDK, GitHub) load native roots: SSL_CERT_FILE first, else this very path.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# Exec form: the binary is PID 1 and receives SIGTERM/SIGINT itself (it traps them to roll back).
ENTRYPOINT ["/ecs-deploy-action"]
