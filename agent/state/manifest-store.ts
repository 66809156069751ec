/**
 * Baseline manifests on disk: `manifests/SET/SNAPSHOT.ndjson.gz`, a header line then one line
 * per entry. Written through a temp file and renamed only when complete, so a crash never leaves
 * a partial baseline; once written a manifest is never changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { ManifestEntry, ManifestHeader } from '../integrity/manifest.js';
import { syncDirectory } from './atomic-write.js';

/** File-name-safe form of a snapshot id (ids may contain `/` on nested prefixes). */
export function snapshotFileName(snapshot: string): string {
  return encodeURIComponent(snapshot);
}

/** Where a set's snapshot manifest lives. */
export function manifestPath(stateDir: string, set: string, snapshot: string): string {
  return path.join(stateDir, 'manifests', set, `${snapshotFileName(snapshot)}.ndjson.gz`);
}

/** Streams a manifest to disk; nothing is visible until `commit()`. */
export interface ManifestWriter {
  add(entry: ManifestEntry): Promise<void>;
  /** Finishes, fsyncs and renames into place; returns the file's SHA-256 and entry count. */
  commit(): Promise<{ file: string; sha256: string; entries: number }>;
  /** Throws the partial file away. */
  abort(): Promise<void>;
}

/** Starts writing a manifest for `header.set`/`header.snapshot`. */
export async function createManifestWriter(stateDir: string, header: ManifestHeader): Promise<ManifestWriter> {
  const target = manifestPath(stateDir, header.set, header.snapshot);
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  const gzip: Gzip = createGzip({ level: 6 });
  const out: WriteStream = createWriteStream(temp, { mode: 0o644 });
  const fileHash = createHash('sha256');
  gzip.on('data', (chunk: Buffer) => fileHash.update(chunk));
  gzip.pipe(out);
  let failure: Error | null = null;
  gzip.on('error', (error) => (failure ??= error));
  out.on('error', (error) => (failure ??= error));
  let entries = 0;

  const write = (line: string) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      if (gzip.write(line)) resolve();
      else gzip.once('drain', resolve);
    });
  await write(`${JSON.stringify(header)}\n`);

  return {
    async add(entry) {
      entries++;
      await write(`${JSON.stringify(entry)}\n`);
    },
    async commit() {
      gzip.end();
      await finished(out);
      if (failure) throw failure;
      const handle = await open(temp, 'r+');
      await handle.sync();
      await handle.close();
      await rename(temp, target);
      await syncDirectory(path.dirname(target));
      return { file: target, sha256: fileHash.digest('hex'), entries };
    },
    async abort() {
      gzip.destroy();
      out.destroy();
      await rm(temp, { force: true });
    },
  };
}

/** A manifest read back whole: header plus entries by path. */
export interface LoadedManifest {
  header: ManifestHeader;
  entries: Map<string, ManifestEntry>;
  sha256: string;
}

/** Loads a baseline manifest, or null when the snapshot has none yet. */
export async function loadManifest(stateDir: string, set: string, snapshot: string): Promise<LoadedManifest | null> {
  const file = manifestPath(stateDir, set, snapshot);
  const raw = createReadStream(file);
  const opened = await new Promise<boolean>((resolve, reject) => {
    raw.once('open', () => resolve(true));
    raw.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(false) : reject(error)));
  });
  if (!opened) return null;
  const fileHash = createHash('sha256');
  raw.on('data', (chunk) => fileHash.update(chunk));
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  const lines = createInterface({ input: raw.pipe(gunzip), crlfDelay: Infinity });
  let header: ManifestHeader | null = null;
  const entries = new Map<string, ManifestEntry>();
  for await (const line of lines) {
    if (!line) continue;
    if (!header) header = JSON.parse(line) as ManifestHeader;
    else {
      const entry = JSON.parse(line) as ManifestEntry;
      entries.set(entry.path, entry);
    }
  }
  if (!header || header.format !== 'vouch-manifest') throw new Error(`${file}: not a vouch manifest`);
  return { header, entries, sha256: fileHash.digest('hex') };
}
