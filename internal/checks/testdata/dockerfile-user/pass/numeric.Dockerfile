FROM alpine:3.20
USER root
RUN apk add --no-cache ca-certificates
USER 60096:60096
CMD ["/app"]
