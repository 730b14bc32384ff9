ARG GOLANG_VERSION
ARG BASE_IMAGE
FROM golang:${GOLANG_VERSION} AS build
FROM build AS test
FROM ${BASE_IMAGE} AS base
# A digest pins the image whatever the tag says.
FROM alpine:latest@sha256:f2aeefbeb3846b146a8ad9b995af469d249272af804b309318e2c72c9ca035b0 AS pinned
FROM alpine@sha256:f2aeefbeb3846b146a8ad9b995af469d249272af804b309318e2c72c9ca035b0 AS digest-only
FROM localhost:5000/app:1.0 AS local
FROM scratch
COPY --from=build /app /app
ENTRYPOINT ["/app"]
