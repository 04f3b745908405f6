# syntax=docker/dockerfile:1
# todo-api: a release build in the Rust image, copied alone into a distroless runtime image.
#
#   docker build -t todo-api .
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://… -e BETTER_AUTH_SECRET=… todo-api
#
# Nothing but the crate registry is needed to build: TLS is rustls, SQLite is bundled, Swagger
# UI's files are vendored (no download at build time).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds; the binary is copied out of
# the cache so the next stage can see it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin todo-api \
    && cp target/release/todo-api /todo-api

# The binary links only libc, libm and libgcc_s: the `cc` image has exactly those. `nonroot`
# runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /todo-api /usr/local/bin/todo-api
ENV HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    RUST_LOG=info
USER nonroot:nonroot
# The working directory is writable by the nonroot user, for a SQLite file if one is used.
WORKDIR /home/nonroot
EXPOSE 8000
# Exec form: the server is PID 1 and gets SIGTERM directly, for its graceful shutdown.
ENTRYPOINT ["/usr/local/bin/todo-api"]
CMD ["serve"]
