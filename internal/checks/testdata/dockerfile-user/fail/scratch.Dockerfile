FROM golang:1.22 AS build
USER 10001
RUN go build -o /app .

# want "final stage \"run\" builds on scratch and sets no USER, so the container runs as root"
FROM scratch AS run
COPY --from=build /app /app
ENTRYPOINT ["/app"]
