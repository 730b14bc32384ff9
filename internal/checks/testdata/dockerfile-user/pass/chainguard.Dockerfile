# Chainguard images (but -dev variants and root bases) run as 65532.
FROM cgr.dev/chainguard/static:latest
COPY app /app
ENTRYPOINT ["/app"]
