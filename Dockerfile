# syntax=docker/dockerfile:1
# papercord: the Discord bot (default) or the CLI (`docker run … node dist/src/cli/main.js <command>`).
#
#   docker build -t papercord .
#   docker build -t papercord --build-arg PRELOAD_MODEL=true .    # embedding model baked into /models
#   docker run -e DISCORD_TOKEN=… -v papercord-data:/data papercord

# ---- build: compile TypeScript, then keep production dependencies only -------------------------------------------
FROM node:24-bookworm-slim AS build
# node-gyp builds hnswlib-node and better-sqlite3 when no prebuilt binary fits.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# postinstall: the AVX2 and AVX-512 builds of hnswlib-node; the runtime loads the one the CPU it runs on supports.
COPY scripts/build-hnswlib-simd.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY scripts ./scripts
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ---------------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    MODEL_CACHE_DIR=/models \
    HEALTH_PORT=8080 \
    HEALTH_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/commands ./dist/commands
COPY --from=build /app/dist/scripts ./dist/scripts
# Read at run time, found relative to the package root from dist/src (tsc copies no assets).
COPY prompts ./prompts
COPY seeds ./seeds
COPY src/playground/public ./src/playground/public
RUN mkdir -p /data /models && chown node:node /data /models

USER node
# Runs before VOLUME so the downloaded files become part of the image (and seed a new named volume).
ARG PRELOAD_MODEL=false
RUN if [ "$PRELOAD_MODEL" = "true" ]; then node dist/scripts/preload-model.js; fi
VOLUME ["/data", "/models"]

EXPOSE 8080
# Slim images have no curl: node's fetch asks /healthz (gateway connected, library loaded).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTH_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
