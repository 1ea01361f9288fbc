# syntax=docker/dockerfile:1
#
# kequn in a container, on Node 26 (the current LTS line, as .nvmrc says; docs/deploy.md).
#
#   docker build -t kequn .
#   docker run -d --name kequn --init -p 127.0.0.1:8787:8787 -v kequn-data:/data \
#     -e WECHATY_PUPPET_SERVICE_TOKEN=... kequn
#
# Several instances on PostgreSQL: deploy/docker-compose.yml. Both: docs/deploy.md.
#
# Without WECHATY_PUPPET_SERVICE_TOKEN the bot runs on the embedded simulated WeChat (demo).
# See docs/wechat.md for a real account. Mount your own course folder over /app/config
# (-v ./my-course:/app/config:ro) to run something other than the demo course.
#
# bin/kequn.mjs runs src/ compiled to JavaScript (bin/build.mjs, esbuild, a runtime dependency,
# so it stays after `npm prune --omit=dev`). The image compiles it once at build time, into a
# dist/ the bot cannot write: bin/kequn.mjs finds the build for these sources there and uses it
# (without it, it would fall back to tsx: ~50 MB more memory).

############################ build: dependencies, native modules ############################
FROM node:26-bookworm-slim AS build

# better-sqlite3 (and leveldown, if its bundled prebuild does not fit) compile with node-gyp
# when no prebuilt binary can be downloaded. pg-native (the PostgreSQL driver, an optional
# dependency) always compiles, against libpq: it needs libpq-dev (headers and pg_config) here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpq-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# node-gyp takes the Node headers from the image instead of downloading them.
ENV npm_config_nodedir=/usr/local

# Lockfile first so the dependency layer is cached across source changes. package.json carries
# `"overrides": { "@swc/core": ... }`, without which `npm ci` rejects the lockfile.
COPY package.json package-lock.json ./
# npm skips an optional dependency that fails to build, without failing: the last line makes a
# missing pg-native (or resvg's prebuilt binary for this platform, which draws the referral
# posters) fail the image build instead of a deployment at start.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require('pg-native'); require('@resvg/resvg-js')"

############################ runtime ############################
FROM node:26-bookworm-slim AS runtime

# libpq5: the client library pg-native is linked against (DATABASE_URL=postgres://...).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/*

# The database lives on the volume (KEQUN_DATA overrides `data:` in config/kequn.yaml).
# The web server (playground, dashboard, /healthz) binds 127.0.0.1 by default, which is
# unreachable from outside a container: `kequn start` honours KEQUN_HOST and KEQUN_PORT, so
# the image listens on all interfaces. Publish the port on 127.0.0.1 of the host (as in the
# example above) or put an authenticating reverse proxy in front of it.
ENV NODE_ENV=production \
    KEQUN_DATA=/data/kequn.db \
    KEQUN_HOST=0.0.0.0 \
    KEQUN_PORT=8787

WORKDIR /app

# Application files stay owned by root (read-only for the bot); only /data is writable.
# The official image's `node` user (uid 1000) runs the bot; its HOME (/home/node) holds
# wechaty-puppet-service's payload cache (~/.wechaty), which is only a cache.
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY config ./config
# Compile src/ once (as root: dist/ stays read-only for the bot), and check that the native
# modules load against the runtime libraries.
RUN node bin/build.mjs \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require('pg-native'); require('@resvg/resvg-js')"

RUN mkdir -p /data && chown node:node /data
VOLUME /data

USER node

EXPOSE 8787

# No curl in the slim image: Node's fetch does the probe. /healthz is 503 while the WeChat
# account is logged out (before the first QR scan, after a logout): "unhealthy" then means
# "log the account in" (see docs/wechat.md), not "restart the container".
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.KEQUN_PORT || 8787) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# `kequn start` stops cleanly on SIGTERM (docker stop). Node as PID 1 only reaps zombies poorly;
# `docker run --init` adds a tiny init if that matters to you.
CMD ["node", "bin/kequn.mjs", "start"]
