# One image, two processes: `node dist/src/main.js` (API) and `node dist/worker/main.js` (worker).
# The worker's local executor runs real pipelines with the Meltano installed here (pinned below).
# Not built on the machines this repository is developed on (no Docker engine, no PyPI there):
# test/deploy-config/dockerfile.spec.ts checks it structurally.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

# Meltano from PyPI, pinned, into a virtual environment of the base image's own Python
# (Debian bookworm's python3). Same base image as the final stage: the venv is copied to the
# same path and finds the same interpreter there.
FROM node:22-bookworm-slim AS meltano
ARG MELTANO_VERSION=3.7.9
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
  && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/meltano \
  && /opt/meltano/bin/pip install --no-cache-dir "meltano==${MELTANO_VERSION}" \
  && /opt/meltano/bin/meltano --version

FROM node:22-bookworm-slim
# git: clones; python3 + python3-venv: the virtual environments `meltano install` creates for plugins.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates python3 python3-venv \
  && rm -rf /var/lib/apt/lists/*
COPY --from=meltano /opt/meltano /opt/meltano
# Run folders and the plugin cache (volumes in docker-compose.yml keep the cache between restarts).
RUN mkdir -p /var/lib/meltano-cloud/runs /var/lib/meltano-cloud/plugins \
  && chown -R node:node /var/lib/meltano-cloud
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 \
  MELTANO_BIN=/opt/meltano/bin/meltano \
  RUN_WORKDIR=/var/lib/meltano-cloud/runs \
  PLUGIN_CACHE_DIR=/var/lib/meltano-cloud/plugins
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/web ./web
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
