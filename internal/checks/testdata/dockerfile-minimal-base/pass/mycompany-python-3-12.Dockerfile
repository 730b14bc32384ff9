ARG GO_VERSION
FROM mycompany/python:3.12
ENTRYPOINT ["/app"]
