# papercord: the Discord bot with DISCORD_TOKEN, the playground on port 3000 without it; the CLI is
# `docker run … papercord node dist/src/cli/main.js <command>`.
#
#   docker build -t papercord .
#   docker build -t papercord --build-arg PRELOAD_MODEL=true .    # embedding model baked into /models
#   docker run -e DISCORD_TOKEN=… -v papercord-data:/data papercord
#   docker run -e PLAYGROUND_HOST=0.0.0.0 -p 127.0.0.1:3000:3000 -v papercord-data:/data papercord   # playground
#
# Behind a proxy that re-signs TLS, or with a private npm registry: hand the build your CA bundle and npm settings as
# build secrets. They are mounted for `npm ci` only and never stored in a layer:
#   docker build --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt --secret id=npmrc,src=$HOME/.npmrc -t papercord .

# ---- build: compile TypeScript, then keep production dependencies only -------------------------------------------
FROM node:24-bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
# node-gyp builds hnswlib-node (and better-sqlite3 when no prebuilt binary fits) against this image's own Node.js
# headers in /usr/local/include/node, so it downloads none. npm_package_config_node_gyp_* is how npm 11 hands node-gyp
# its options (npm_config_nodedir works too, with a warning from npm on every call). onnxruntime-node's installer
# would otherwise download its CUDA build on linux/x64; papercord runs on the CPU.
ENV npm_package_config_node_gyp_nodedir=/usr/local \
    ONNXRUNTIME_NODE_INSTALL_CUDA=skip
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall: the AVX2 and AVX-512 builds of hnswlib-node; the runtime loads the one the CPU it runs on supports.
COPY scripts/build-hnswlib-simd.mjs ./scripts/
RUN --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    if [ -s /run/secrets/ca-certificates ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates; fi \
    && npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY scripts ./scripts
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund
# What the runtime can never load: onnxruntime-node's binaries for other systems and CPUs, the browser builds of
# ONNX Runtime and transformers.js (its Node.js build leaves onnxruntime-web out), what compilers left behind, type
# declarations and source maps.
RUN arch="$(node -p process.arch)" \
    && find node_modules/onnxruntime-node/bin/napi-v3 -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
    && find node_modules/onnxruntime-node/bin/napi-v3/linux -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
    && find node_modules -depth -type d -name onnxruntime-web -exec rm -rf {} + \
    && find node_modules/@huggingface/transformers/dist -type f ! -name 'transformers.node.mjs' ! -name 'transformers.node.cjs' -delete \
    && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
    && find node_modules -path '*/build/Release/*' \( -name obj -o -name obj.target -o -name .deps -o -name '*.a' -o -name '*.o' \) -prune -exec rm -rf {} + \
    && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.js.map' -o -name '*.mjs.map' -o -name '*.cjs.map' \) -delete

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

# 8080: /healthz and /metrics in every mode; 3000: the playground (with PLAYGROUND_HOST=0.0.0.0).
EXPOSE 8080 3000
# /healthz answers in both modes: the bot connected (to Discord, or to the playground's stand-in) and the library
# open. A process whose event loop is stuck does not answer within the timeout, and the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/src/main.js"]
