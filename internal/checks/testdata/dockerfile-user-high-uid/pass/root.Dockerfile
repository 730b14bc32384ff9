# Root, and no USER, are dockerfile-user's findings, not this check's.
FROM alpine:3.20 AS a
USER root
FROM alpine:3.20
CMD ["/app"]
