# want "builds on \"debian:bookworm\""
FROM debian:bookworm
ENTRYPOINT ["/app"]
