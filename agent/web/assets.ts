/**
 * The console's static files (stylesheet, script, icon) in `agent/web/assets/` — copied next to
 * the compiled code by `npm run build` — read once at start-up. Each is served under a URL that
 * carries its content hash, so browsers may cache it for good and a new version is fetched at once.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One static file. */
export interface Asset {
  body: Buffer;
  contentType: string;
  /** Short content hash. */
  version: string;
}

const FILES: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** The console's assets, by file name. */
export type Assets = ReadonlyMap<string, Asset>;

/** Reads the assets; throws naming the file when the installation lacks one. */
export function loadAssets(): Assets {
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const url = new URL(`./assets/${name}`, import.meta.url);
    let body: Buffer;
    try {
      body = readFileSync(url);
    } catch (error) {
      throw new Error(
        `web console file ${url.pathname} is missing (run npm run build, which copies agent/web/assets)`,
        { cause: error },
      );
    }
    assets.set(name, {
      body,
      contentType,
      version: createHash('sha256').update(body).digest('hex').slice(0, 12),
    });
  }
  return assets;
}

/** The URL of an asset (with its version). */
export function assetUrl(assets: Assets, name: string): string {
  const asset = assets.get(name);
  return `/assets/${name}${asset ? `?v=${asset.version}` : ''}`;
}
