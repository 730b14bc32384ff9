FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4
RUN microdnf install -y yum findutils openssl \
  && yum install -y procps \
  && yum clean all \
  && microdnf remove yum
USER 60096
ENTRYPOINT ["/app"]
