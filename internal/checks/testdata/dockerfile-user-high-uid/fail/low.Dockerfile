FROM alpine:3.20
RUN adduser -D -u 1000 app
# want "runs as UID 1000, below the minimum 10000"
USER 1000:1000
CMD ["/app"]
