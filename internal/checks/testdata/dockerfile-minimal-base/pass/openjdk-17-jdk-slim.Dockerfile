ARG GO_VERSION
FROM openjdk:17-jdk-slim
ENTRYPOINT ["/app"]
