#!/bin/sh
# Checks what the Dockerfile's runtime stage relies on, without a Docker engine: the built dist/
# runs with production dependencies only (npm ci --omit=dev), as a non-root user would run it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run as root, drill commands run as uid 65534, which must be able to reach the state directory.
chmod 711 "$work"
cp "$root/package.json" "$root/package-lock.json" "$work/"
cp -r "$root/dist" "$root/policies" "$root/restore-drills" "$work/"
cd "$work"
# --omit=dev keeps optionalDependencies: s3rver and sql.js, which only the demo below needs, are
# installed as they are in the image (npm ci --omit=optional leaves them out; the demo then says so).
npm ci --omit=dev --no-audit --no-fund --ignore-scripts >/dev/null
node dist/vouch.js --version
node dist/vouch.js policy check policies/s3-object-lock.yaml
node dist/vouch.js --json demo --state "$work/state" > "$work/demo.json"
node -e "const r=require('$work/demo.json'); if (!r.caught) { console.error('demo did not catch the tampering'); process.exit(1) } if (!r.drill || r.drill.outcome !== 'passed') { console.error('demo restore drill did not pass:', JSON.stringify(r.drill && r.drill.failures)); process.exit(1) } console.log('production install: demo caught', r.tampered, 'and drilled', r.drill.snapshot)"
node dist/vouch.js --state "$work/state" evidence verify
# The daemon the image runs: starts, answers /healthz, /metrics and the web console (whose assets the
# build copies into dist/), stops on SIGTERM with exit 0.
node dist/vouch.js --config "$work/state/vouch-demo.yaml" serve --listen 127.0.0.1:0 --jitter 0 > "$work/serve.log" &
serve=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*"url":"\(http:[^"]*\)".*/\1/p' "$work/serve.log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.2
done
[ -n "$url" ] || { echo "vouch serve did not start"; cat "$work/serve.log"; kill "$serve"; exit 1; }
node -e "Promise.all(['/healthz','/metrics','/','/assets/console.js','/assets/console.css'].map(p=>fetch('$url'+p,{headers:{accept:'text/html'}}).then(r=>{if(!r.ok)throw new Error(p+' '+r.status)}))).then(()=>console.log('production install: vouch serve answers /healthz, /metrics and the web console'),e=>{console.error(e.message);process.exit(1)})"
kill -TERM "$serve"
wait "$serve"
