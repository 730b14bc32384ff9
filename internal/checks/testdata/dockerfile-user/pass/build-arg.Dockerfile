# A USER decided at build time is not guessed.
FROM alpine:3.20
ARG APP_UID
USER $APP_UID
CMD ["/app"]
