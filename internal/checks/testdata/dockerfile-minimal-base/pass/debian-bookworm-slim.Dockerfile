ARG GO_VERSION
FROM debian:bookworm-slim
ENTRYPOINT ["/app"]
