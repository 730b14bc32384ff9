FROM golang:1.22-alpine AS build
RUN go build -o /app .

# want "final stage builds on \"docker.io/library/ubuntu:24.04\" (through stage \"base\")"
FROM docker.io/library/ubuntu:24.04 AS base
RUN useradd -u 60096 app

FROM base
COPY --from=build /app /app
USER 60096
ENTRYPOINT ["/app"]
