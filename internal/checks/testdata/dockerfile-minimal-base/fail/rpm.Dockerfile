# want "builds on \"registry.access.redhat.com/ubi9/ubi:9.4\", a full distribution image with a shell (bash), a package manager (yum or dnf, rpm)"
FROM registry.access.redhat.com/ubi9/ubi:9.4
ENTRYPOINT ["/app"]
