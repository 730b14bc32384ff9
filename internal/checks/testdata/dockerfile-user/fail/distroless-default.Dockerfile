# distroless's default tags run as root; only :nonroot ones do not.
# want "sets no USER"
FROM gcr.io/distroless/static-debian12:latest
COPY app /app
ENTRYPOINT ["/app"]
