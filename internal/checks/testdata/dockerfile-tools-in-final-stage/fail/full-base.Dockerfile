FROM golang:1.22 AS build
RUN go build -o /app .

# want "final stage keeps what its base \"ubuntu:24.04\" ships: a shell (bash), a package manager (apt, dpkg)"
FROM ubuntu:24.04
COPY --from=build /app /app
USER 60096
ENTRYPOINT ["/app"]
