/**
 * A snapshot's downloads, mounted under `/sets`: its baseline manifest
 * (`/sets/:set/snapshots/:snapshot/manifest.ndjson.gz`, streamed as stored) and its evidence
 * records with the chain's state (`…/evidence.json`). A missing snapshot answers JSON 404.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { now } from '../../clock.js';
import { ledgerIndex } from '../../ledger/ledger-index.js';
import { manifestPath, snapshotFileName } from '../../state/manifest-store.js';
import { attachment, type ConsoleKit } from './console-kit.js';
import { requireSnapshot, type SnapshotEnv } from './guards.js';

/** The snapshot download routes, relative to `/sets`. */
export function snapshotDownloadRoutes(kit: ConsoleKit): Hono<SnapshotEnv> {
  const { ctx } = kit;
  const app = new Hono<SnapshotEnv>();
  const found = requireSnapshot(kit, (c) =>
    c.json({ error: `no snapshot ${c.req.param('snapshot')} in set ${c.req.param('set')}` }, 404),
  );

  app.get('/:set/snapshots/:snapshot/manifest.ndjson.gz', found, async (c) => {
    const { set, snapshot } = c.get('found');
    const file = manifestPath(ctx.stateDir, set.policy.name, snapshot.id);
    const size = await stat(file)
      .then((stats) => stats.size)
      .catch(() => null);
    if (size === null)
      return c.json(
        { error: `snapshot ${snapshot.id} of set ${set.policy.name} has no baseline manifest yet` },
        404,
      );
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'Content-Type': 'application/gzip',
      'Content-Length': String(size),
      'Content-Disposition': attachment(`${set.policy.name}-${snapshotFileName(snapshot.id)}.ndjson.gz`),
    });
  });

  app.get('/:set/snapshots/:snapshot/evidence.json', found, async (c) => {
    const { set, snapshot } = c.get('found');
    const index = ledgerIndex(ctx.stateDir);
    await index.refresh();
    const records = await index.all({ set: set.policy.name, snapshot: snapshot.id });
    const chain = (await ctx.estate()).evidence;
    const document = {
      set: set.policy.name,
      snapshot: snapshot.id,
      generatedAt: now().toISOString(),
      chain: {
        ok: chain.ok,
        records: chain.records,
        firstBad: chain.firstBad ?? null,
        keyFingerprints: chain.keyFingerprints,
      },
      records: records.map((stored) => stored.record ?? { malformed: stored.raw, segment: stored.segment }),
    };
    return c.body(`${JSON.stringify(document, null, 2)}\n`, 200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': attachment(`${set.policy.name}-${snapshotFileName(snapshot.id)}-evidence.json`),
    });
  });
  return app;
}
