FROM alpine:3.20 AS base
ENV APP_UID=101
# want "final stage runs as UID 101, below the minimum 10000"
USER ${APP_UID}

FROM base
CMD ["/app"]
