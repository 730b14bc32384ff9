ARG GO_VERSION=1.22
ARG GOLANG_DIGEST
# Every stage's base counts: the build stage's output goes into the image.
# want "stage \"build\" base image \"golang:1.22\" is not pinned"
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
RUN go build -o /app .

# want "stage \"test\" base image \"golang:1.22@sha256:1234\" is not pinned"
FROM golang:1.22@sha256:1234 AS test

# A digest from a build argument without default is not in the Dockerfile.
# want "stage[2] base image \"golang:1.22@${GOLANG_DIGEST}\" is not pinned"
FROM golang:1.22@${GOLANG_DIGEST}

FROM build AS again

# want "stage[4] base image \"gcr.io/distroless/static-debian12:nonroot\" is not pinned"
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /app /app
ENTRYPOINT ["/app"]
