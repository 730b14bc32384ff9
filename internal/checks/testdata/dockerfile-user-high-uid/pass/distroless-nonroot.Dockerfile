# No USER, but the base runs as 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ENTRYPOINT ["/app"]
