FROM alpine:3.20
# want "runs as root: it sets USER 0:0"
USER 0:0
CMD ["/app"]
