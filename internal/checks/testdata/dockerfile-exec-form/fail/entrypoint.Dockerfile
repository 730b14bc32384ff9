FROM alpine:3.20 AS base
# Inherited by the final stage.
# want "final stage \"run\" ENTRYPOINT \"/docker-entrypoint.sh --config /etc/app.yaml\" is in shell form"
ENTRYPOINT /docker-entrypoint.sh \
    --config /etc/app.yaml

FROM base AS run
# Only the last CMD counts.
CMD python3 app.py
# want "final stage \"run\" CMD \"serve\" is in shell form"
CMD serve
