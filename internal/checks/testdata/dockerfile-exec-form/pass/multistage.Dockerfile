# Shell form in a build stage does not ship.
FROM golang:1.22 AS build
CMD go test ./...

FROM build AS dev
ENTRYPOINT ["/bin/app"]
CMD ["--port", "8080"]

FROM scratch
ENTRYPOINT ["/app"]
