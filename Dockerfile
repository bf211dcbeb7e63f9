# Veil: one image for the server (API + web UI) and the workers.
# Build:  docker build -t veil .      Run: docker compose up   (see compose.yaml)

# ---- build stage: install the locked dependencies (better-sqlite3 compiles its native addon here) ----
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/build.mjs
# npm ci's `prepare` build finds no src/ yet and skips; `npm run build` below builds dist/ once src/ is in.
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
RUN npm run build
COPY web ./web
COPY models ./models
COPY docs ./docs
COPY tsconfig.json README.md ARCHITECTURE.md ./

# ---- runtime stage: slim base, tcpdump for live capture, non-root user ----
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tcpdump tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production VEIL_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/veil.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data", "--models", "/app/models"]
