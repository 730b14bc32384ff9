ARG BASE=gcr.io/distroless/static-debian12:nonroot@sha256:6447365a6337c3732f412d1b74357b30a633831955b2bc45552b0086be907687
FROM golang:1.22@sha256:640a234f4bea3e399c056b7b8f9c667c4939befae8db2f14e9785e16eccd4205 AS build
RUN go build -o /app .

FROM build AS test
RUN go test ./...

FROM scratch AS empty

FROM ${BASE}
COPY --from=build /app /app
ENTRYPOINT ["/app"]
