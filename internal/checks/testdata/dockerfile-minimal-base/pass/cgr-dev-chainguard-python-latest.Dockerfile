ARG GO_VERSION
FROM cgr.dev/chainguard/python:latest
ENTRYPOINT ["/app"]
