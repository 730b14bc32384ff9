FROM golang:1.22 AS build
RUN go build -o /app .

# The :nonroot tags run as 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /app /app
ENTRYPOINT ["/app"]
