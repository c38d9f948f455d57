# The zonechaos harness image: `zonechaos echo` (backend pods) and
# `zonechaos loadgen` (load clients) on the kind backend.
#   docker build -t zonechaos:0.1.0 -f Dockerfile .
# (`zonechaos cluster up` runs exactly this and `kind load`s the result.)

# Builder: the toolchain at or above the crate's rust-version (1.89).
FROM docker.io/library/rust:1.89-bookworm AS builder
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the registry and compiled dependencies between
# builds (a warm rebuild recompiles only zonechaos itself).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin zonechaos \
 && install -D -m 0755 target/release/zonechaos /out/zonechaos

# Runtime: glibc and libgcc only, no shell, non-root (uid 65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/zonechaos /usr/local/bin/zonechaos
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/zonechaos"]
CMD ["--help"]
