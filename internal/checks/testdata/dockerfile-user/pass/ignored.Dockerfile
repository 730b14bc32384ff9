FROM nginx:1.27
# kubeharden:ignore=dockerfile-user nginx binds port 80 and drops to the nginx user itself
USER root
CMD ["nginx", "-g", "daemon off;"]
