FROM alpine:3.20
# Installed and removed again in the final stage.
RUN apk add --no-cache --virtual .fetch-deps curl wget \
    && curl -fsSLo /app https://example.com/app \
    && apk del .fetch-deps
RUN apk add bash && /bin/bash -c 'true'; apk del bash
RUN python3 -m pip install --no-cache-dir -r requirements.txt --target /deps
USER 60096
ENTRYPOINT ["/app"]
