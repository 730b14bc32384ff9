FROM gcr.io/distroless/base-debian12:debug-nonroot-amd64
ENTRYPOINT ["/app"]
