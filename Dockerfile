# syntax=docker/dockerfile:1
# dbsync image: `docker build -t dbsync .`, then e.g.
#   docker run --rm -e SOURCE_DATABASE_URL=... -e TARGET_DATABASE_URL=... -v "$PWD/pipeline.yaml:/config/pipeline.yaml:ro" \
#     -p 8080:8080 dbsync sync -p /config/pipeline.yaml --every 5m --health-port 8080
# The build steps are the ones CI runs (.ci/run: npm ci, npm run build), so an image built here matches
# what the tests saw.

# ---- build: dev dependencies and the TypeScript compiler; nothing of this stage ships.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The lockfile first: the npm ci layer stays cached while only sources change.
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds, and the sources are not copied yet; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY schema ./schema
RUN npm run build

# ---- runtime: production dependencies, the compiled dist/, the launcher and the JSON schema.
FROM node:20-bookworm-slim
# PORT is the port the HEALTHCHECK probes: keep it equal to --health-port (or health.port in the pipeline).
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schema ./schema
RUN chmod 755 bin/dbsync.js && ln -s /app/bin/dbsync.js /usr/local/bin/dbsync
# The official image's unprivileged user (uid 1000); dbsync needs no write access to /app.
USER node
EXPOSE 8080
# /healthz only says the process is alive; /readyz (last run ok and recent) is for orchestrators that route
# or alert on it. Slim images have no curl, so node does the request. Without a schedule (one-shot runs)
# nothing listens, and the container exits before the first probe matters.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["dbsync"]
CMD ["--help"]
