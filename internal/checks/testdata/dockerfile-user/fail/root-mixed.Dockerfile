ARG ROOT=0
FROM alpine:3.20
ARG ROOT
# want "runs as root: it sets USER 0:root"
USER ${ROOT}:root
CMD ["/app"]
