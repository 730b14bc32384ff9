FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y curl && curl -o /app https://example.com/app

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /app /app
ENTRYPOINT ["/app"]
