# syntax=docker/dockerfile:1
# vouch: backup integrity and clean-restore verification agent.
# Build:  docker build -t vouch .
# Run:    docker run --rm -v /mnt/offline:/mnt/offline:ro -v vouch-state:/var/lib/vouch \
#           -v $PWD/vouch.yaml:/etc/vouch/vouch.yaml:ro vouch scan

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent ./agent
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# zstd/openssl are not needed at run time (decompression and hashing are in-process);
# tini reaps children and forwards signals so SIGTERM reaches vouch. Restore drills sandbox their
# commands with bubblewrap and check SQLite databases with sqlite3; add postgresql to check
# pg_dump backups: docker build --build-arg DRILL_TOOLS="bubblewrap sqlite3 postgresql" .
# (bubblewrap needs user namespaces: run with --security-opt seccomp=unconfined, see the README.)
ARG DRILL_TOOLS="bubblewrap sqlite3"
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates ${DRILL_TOOLS} \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    VOUCH_CONFIG=/etc/vouch/vouch.yaml \
    VOUCH_STATE=/var/lib/vouch \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /opt/vouch
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY policies ./policies
COPY restore-drills ./restore-drills
RUN mkdir -p /var/lib/vouch /etc/vouch && chown node:node /var/lib/vouch
USER node
VOLUME ["/var/lib/vouch"]
# The process answering is the check until the daemon's /healthz lands: the CLI must start and
# find its policy valid.
HEALTHCHECK --interval=60s --timeout=10s --start-period=20s --retries=3 \
  CMD ["node", "/opt/vouch/dist/agent/cli/main.js", "policy", "check", "/etc/vouch/vouch.yaml"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/vouch/dist/agent/cli/main.js"]
CMD ["scan"]
