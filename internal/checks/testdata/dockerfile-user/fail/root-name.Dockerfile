FROM alpine:3.20
RUN adduser -D -u 60096 app
USER app
# The last USER wins.
# want "runs as root: it sets USER root:root"
USER root:root
CMD ["/app"]
