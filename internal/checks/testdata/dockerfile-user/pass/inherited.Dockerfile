FROM alpine:3.20 AS base
USER 10001:10001

FROM base
CMD ["/app"]
