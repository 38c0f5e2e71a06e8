# One image for the Fedgate services, the dev IdP and the CLI.
#   docker build -t fedgate:dev .      (docker-compose.yml builds it for you)
FROM node:20-bookworm-slim AS build
WORKDIR /app
# openssl: scripts/infra/tls.sh makes the dev CA in the tls-init step of docker-compose.yml
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY apps/cli/package.json apps/cli/package.json
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/build.sh

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
COPY --from=build /app /app
RUN npm prune --omit=dev --no-audit --no-fund && chown -R node:node /app
USER node
CMD ["node", "dist/apps/login-service/src/main.js"]
