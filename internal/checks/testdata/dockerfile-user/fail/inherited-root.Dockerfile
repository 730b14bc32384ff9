FROM alpine:3.20 AS base
# A USER of the stage the final stage builds on is inherited.
# want "runs as root: stage \"base\", which it builds on, sets USER root"
USER root

FROM golang:1.22 AS build
USER 10001

FROM base
COPY --from=build /app /app
CMD ["/app"]
