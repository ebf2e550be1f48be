# syntax=docker/dockerfile:1
# hoithi: multi-stage build. The binary is built with SQLX_OFFLINE=true from the
# committed .sqlx/ query data, so no database is needed at build time.

ARG RUST_VERSION=1.89

# ---------------------------------------------------------------- builder
FROM rust:${RUST_VERSION}-bookworm AS builder
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
WORKDIR /build

# 1. Dependencies only, with stub sources, so this layer is reused until
#    Cargo.toml / Cargo.lock change.
# The load generator is a workspace member: its manifest (and a stub) must be there,
# though the image never builds it.
COPY Cargo.toml Cargo.lock ./
COPY load-tests/Cargo.toml ./load-tests/
RUN mkdir -p src tests/api load-tests/src \
    && echo 'fn main() {}' > load-tests/src/main.rs \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && echo 'fn main() {}' > tests/api/main.rs \
    && cargo build --release --locked --bin hoithi \
    && rm -rf src tests target/release/.fingerprint/hoithi-* target/release/deps/hoithi-* \
        target/release/deps/libhoithi-* target/release/hoithi*

# 2. The real sources. (`.sql[x]` is a wildcard so that a checkout without
#    offline query data still builds when no query macro needs it.)
COPY .sql[x] ./.sqlx/
COPY migrations ./migrations
COPY src ./src
# The web app's files are compiled into the binary (include_str!).
COPY web ./web
# Cargo.toml names the tests/api target; cargo refuses a manifest whose targets are missing.
COPY tests ./tests
# BuildKit keeps the context's mtimes, which may be older than the stub
# build: touch so cargo surely rebuilds the crate.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin hoithi \
    && install -D -m 0755 target/release/hoithi /out/hoithi

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 hoithi \
    && useradd --system --uid 10001 --gid hoithi --home-dir /app --shell /usr/sbin/nologin hoithi \
    && mkdir -p /app/contests
COPY --from=builder /out/hoithi /usr/local/bin/hoithi
# `contest[s]` (wildcard) copies contests/ when present and nothing otherwise.
COPY --chown=hoithi:hoithi contest[s] /app/contests/
WORKDIR /app
USER hoithi:hoithi
ENV HOITHI_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1
CMD ["hoithi", "serve"]
