FROM debian:bookworm-slim AS base
# want "stage \"base\" installs wget (network tool), openssh-client (network tool), sudo (privilege escalation tool), which the final stage inherits"
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y install --no-install-recommends \
      wget openssh-client sudo \
    && rm -rf /var/lib/apt/lists/*

FROM base AS run
# want "final stage \"run\" installs socat (network tool), which stay in the final image"
RUN <<EOF
set -e
if [ -n "$DEBUG" ]; then apt-get install -y socat; fi
EOF
# want "installs nmap-ncat (network tool), zsh (shell)"
RUN ["microdnf", "install", "-y", "nmap-ncat", "zsh"]
# want "installs py3-pip (package manager)"
RUN apk add --virtual .keep py3-pip && apk del .other
USER 60096
ENTRYPOINT ["/app"]
