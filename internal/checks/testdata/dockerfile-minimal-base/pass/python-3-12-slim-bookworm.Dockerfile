ARG GO_VERSION
FROM python:3.12-slim-bookworm
ENTRYPOINT ["/app"]
