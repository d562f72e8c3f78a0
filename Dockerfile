# syntax=docker/dockerfile:1
# fineprint image: one image for every role. The command picks it:
#   start (default, all-in-one) | collector | classifier | api      (see docker-compose.yml)
#
#   docker build -t fineprint:local .
#
# No HEALTHCHECK here on purpose: each role has its own status port and check, declared per
# service in docker-compose.yml (collector 7778, classifier 7779, API 7777, all GET /healthz).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript and the native better-sqlite3 module ----------------------------
FROM ${NODE_IMAGE} AS build
# node-gyp needs python3, make and g++ when better-sqlite3 has no prebuilt binary for this Node.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# The npm the project's CI uses: it honours package.json's `allowScripts` (better-sqlite3's install
# script runs, the denied ones do not). Node 20's bundled npm 10 ignores that policy and runs every
# install script.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}" --no-audit --no-fund --loglevel=error
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && node -e "require('better-sqlite3')(':memory:').close()"

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    FINEPRINT_DATA_DIR=/var/lib/fineprint
WORKDIR /opt/fineprint
# Code and KB belong to root and are read-only for the user the service runs as.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/kb ./kb
# The history page's files, served as they are (services/api/routes/web.ts).
COPY --from=build /app/services/api/web ./services/api/web
# The API reference page's files (services/api/routes/openapi.ts).
COPY --from=build /app/services/api/openapi/docs.html /app/services/api/openapi/docs.js /app/services/api/openapi/docs.css ./services/api/openapi/
# The data dir (embedded database, collector buffer, admin token). root:node 0775 so that both the
# default user (node, by group) and the collector (root without CAP_DAC_OVERRIDE, as owner) can
# write it; a new named volume mounted here copies this ownership and mode.
RUN install -d -o root -g node -m 0775 /var/lib/fineprint
# Non-root by default. Only the collector runs as root (docker-compose.yml says why).
USER node
ENTRYPOINT ["node", "bin/fineprint.js"]
CMD ["start"]
