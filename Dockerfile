# syntax=docker/dockerfile:1
# vouch: backup integrity and clean-restore verification agent.
# Build:  docker build -t vouch .
# Run the daemon (see docs/operations.md, "Docker"):
#   docker run -d --name vouch -p 9740:9740 -e VOUCH_API_TOKEN=$(openssl rand -hex 32) \
#     -v vouch-state:/var/lib/vouch -v $PWD/vouch.yaml:/etc/vouch/vouch.yaml:ro \
#     -v /mnt/offline:/mnt/offline:ro vouch
# One-off scan: docker run --rm ... vouch scan

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY agent ./agent
# The prune keeps optionalDependencies (s3rver and sql.js, for `vouch demo` only); to leave them out:
#   RUN npm run build && npm prune --omit=dev --omit=optional
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="vouch" \
      org.opencontainers.image.description="Backup integrity and clean-restore verification agent: hash drift, ransomware damage, restore drills, evidence, Prometheus metrics." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="README.md"
# zstd/openssl are not needed at run time (gzip/zstd decompression and hashing are in-process);
# tini reaps children and forwards signals so SIGTERM reaches vouch. Restore drills sandbox their
# commands with bubblewrap and check SQLite databases with sqlite3; add postgresql to check
# pg_dump backups: docker build --build-arg DRILL_TOOLS="bubblewrap sqlite3 postgresql" .
# (bubblewrap needs user namespaces: run with --security-opt seccomp=unconfined, see docs/operations.md.)
ARG DRILL_TOOLS="bubblewrap sqlite3"
# Sources read through host tools: restic and borg repositories, .tar.xz/.tar.bz2/.tar.lz4 and .7z
# archives (leave out what you do not use: borgbackup brings Python).
ARG SOURCE_TOOLS="restic borgbackup xz-utils bzip2 lz4 7zip"
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates ${DRILL_TOOLS} ${SOURCE_TOOLS} \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    VOUCH_CONFIG=/etc/vouch/vouch.yaml \
    VOUCH_STATE=/var/lib/vouch \
    VOUCH_LISTEN=0.0.0.0:9740 \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /opt/vouch
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY policies ./policies
COPY dashboards ./dashboards
COPY restore-drills ./restore-drills
RUN mkdir -p /var/lib/vouch /etc/vouch && chown node:node /var/lib/vouch
# The image's own unprivileged user (uid 1000), never root.
USER node
VOLUME ["/var/lib/vouch"]
EXPOSE 9740
# /healthz needs no token; the port follows VOUCH_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.VOUCH_LISTEN||'').split(':').pop()||'9740';fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/vouch/dist/vouch.js"]
CMD ["serve"]

# Restore drills with application checks (vouch drill, or drill Jobs in Kubernetes: see
# docs/kubernetes/drills.yaml): PostgreSQL for pg_dump restores, sqlite3, bubblewrap.
#   docker build --target drills -t vouch-drills .
#   docker run --rm --security-opt seccomp=unconfined -v vouch-state:/var/lib/vouch \
#     -v "$PWD/vouch.yaml:/etc/vouch/vouch.yaml:ro" vouch-drills drill orders
FROM runtime AS drills
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap sqlite3 postgresql \
 && rm -rf /var/lib/apt/lists/*
USER node

# `docker build .` builds the agent image above (the last stage is the default target).
FROM runtime AS agent
