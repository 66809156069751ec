/**
 * A baseline manifest whose block no longer reads back (a flipped CRC, a cut) fails with an error
 * that names the manifest file — when it is streamed (drift, history) and when an entry is looked
 * up in it (carry-over) — never a bare "block at byte N" that leaves a user guessing which file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listBlocks } from '../../agent/fs/block-gzip.js';
import { createManifestWriter, manifestPath, openManifest } from '../../agent/state/manifest-store.js';

const state = mkdtempSync(path.join(tmpdir(), 'vouch-manifest-corrupt-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const paths = Array.from(
  { length: 500 },
  (_, i) => `d${i % 7}/file-${String(i).padStart(4, '0')}.txt`,
).sort();

async function writeManifest(snapshot: string): Promise<string> {
  const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
  const writer = await createManifestWriter(state, {
    format: 'vouch-manifest',
    set: 's',
    snapshot,
    snapshotTime: at,
    layout: 'directory',
    algorithm: 'sha256',
    createdAt: at,
  });
  for (const [i, entry] of paths.entries())
    await writer.add({ path: entry, type: 'file', size: i, digest: i.toString(16).padStart(64, '0') });
  await writer.commit();
  return manifestPath(state, 's', snapshot);
}

describe('a corrupt baseline manifest', () => {
  it('names its file when a block fails its CRC-32, streamed or looked up', async () => {
    const file = await writeManifest('crc');
    const handle = await openFile(file, 'r');
    const blocks = await listBlocks(handle);
    await handle.close();
    expect(blocks.length).toBeGreaterThan(4);
    const target = blocks[3]!;
    const bytes = readFileSync(file);
    bytes[target.offset + target.length - 8]! ^= 0x01;
    writeFileSync(file, bytes);

    const reader = (await openManifest(state, 's', 'crc'))!;
    try {
      const streamed = (async () => {
        for await (const entry of reader.entries()) void entry;
      })();
      await expect(streamed).rejects.toThrow(
        `baseline manifest ${file} is corrupt: block at byte ${target.offset} fails its CRC-32`,
      );
      expect(() => reader.get(target.label!)).toThrow(`baseline manifest ${file} is corrupt`);
      // Blocks before it still read.
      expect(reader.get(paths[0]!)?.size).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('names its file when it is cut short inside a block', async () => {
    const file = await writeManifest('cut');
    const handle = await openFile(file, 'r');
    const blocks = await listBlocks(handle);
    await handle.close();
    const target = blocks[2]!;
    // Cut inside the block's compressed data: its header (length, label) still lists it.
    writeFileSync(file, readFileSync(file).subarray(0, target.offset + target.length - 20));
    const reader = (await openManifest(state, 's', 'cut'))!;
    try {
      await expect(
        (async () => {
          for await (const entry of reader.entries()) void entry;
        })(),
      ).rejects.toThrow(`baseline manifest ${file} is corrupt: block at byte ${target.offset} is cut short`);
    } finally {
      await reader.close();
    }
  });
});
