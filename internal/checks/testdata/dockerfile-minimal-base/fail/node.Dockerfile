# want "builds on \"node:20-bookworm\""
FROM node:20-bookworm
ENTRYPOINT ["node", "server.js"]
