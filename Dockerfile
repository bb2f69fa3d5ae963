# The taosim image for deploy/k8s (any other container runtime too). From the repository root:
#
#   docker build -t registry.example.com/taosim:$(git rev-parse --short HEAD) .
#
# Stage 1 builds the release binary with the Rust image; stage 2 is a slim Debian with that one
# binary and the shipped scenarios (/opt/taosim/scenarios), run as an unprivileged user (uid
# 10001). .dockerignore keeps target/ and .git out of the build context.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin taosim

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 taosim \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin taosim
COPY --from=build /src/target/release/taosim /usr/local/bin/taosim
COPY --from=build /src/scenarios /opt/taosim/scenarios
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["taosim"]
CMD ["--help"]
