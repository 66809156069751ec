/**
 * `GET /assets/:name`: the console's stylesheet, script and icon. With the current `?v=` version
 * they are cached for a year (the version changes with the content); without it the browser
 * revalidates by ETag. Public: they hold no data.
 */
import { Hono } from 'hono';
import type { Assets } from '../assets.js';

/** The static asset routes over `assets`. */
export function staticAssetRoutes(assets: Assets): Hono {
  const app = new Hono();
  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (!asset) return c.json({ error: `no asset ${c.req.param('name')}` }, 404);
    const etag = `"${asset.version}"`;
    const cache = c.req.query('v') === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache';
    if (c.req.header('if-none-match') === etag)
      return c.body(null, 304, { ETag: etag, 'Cache-Control': cache });
    return c.body(new Uint8Array(asset.body), 200, {
      'Content-Type': asset.contentType,
      ETag: etag,
      'Cache-Control': cache,
      'X-Content-Type-Options': 'nosniff',
    });
  });
  return app;
}
