import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockFormatError,
  encodeBlock,
  listBlocks,
  readBlocks,
  readBlockSync,
} from '../../agent/fs/block-gzip.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Blocks of varied sizes and labels (some longer than a small window, some a few bytes). */
function pieces(): { data: Buffer; label: string | null }[] {
  return Array.from({ length: 40 }, (_, i) => ({
    data: Buffer.from(`${i}:`.repeat(i % 5 === 0 ? 3000 + i : i + 1)),
    label: i % 3 === 0 ? null : `path/${i}/${'é'.repeat(i)}`,
  }));
}

async function blockFile(parts: { data: Buffer; label: string | null }[]): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vouch-block-gzip-'));
  dirs.push(dir);
  const file = path.join(dir, 'blocks.gz');
  writeFileSync(
    file,
    Buffer.concat(await Promise.all(parts.map((part) => encodeBlock(part.data, part.label)))),
  );
  return file;
}

async function collect(blocks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const block of blocks) out.push(block);
  return out;
}

describe('block gzip read in windows', () => {
  it('gives back every block, in order, whatever the read window against the block sizes', async () => {
    const parts = pieces();
    const file = await blockFile(parts);
    const handle = await open(file, 'r');
    try {
      const blocks = await listBlocks(handle);
      expect(blocks.map((block) => block.label)).toEqual(parts.map((part) => part.label));
      for (const window of [16, 100, 4096, 1 << 20]) {
        expect(await collect(readBlocks(handle, blocks, window))).toEqual(parts.map((part) => part.data));
        expect(await collect(readBlocks(handle, blocks.slice(7, 9), window))).toEqual(
          parts.slice(7, 9).map((part) => part.data),
        );
      }
      expect(readBlockSync(handle.fd, blocks[5]!)).toEqual(parts[5]!.data);
    } finally {
      await handle.close();
    }
    // Still one ordinary gzip stream to any tool.
    expect(gunzipSync(readFileSync(file))).toEqual(Buffer.concat(parts.map((part) => part.data)));
  });

  it('refuses a block that fails its CRC-32 and a file cut short, naming the byte', async () => {
    const parts = pieces();
    const file = await blockFile(parts);
    let handle = await open(file, 'r');
    const blocks = await listBlocks(handle);
    await handle.close();
    const bytes = readFileSync(file);

    // Block 10's stored CRC-32 no longer matches its bytes.
    const flipped = Buffer.from(bytes);
    const target = blocks[10]!;
    flipped[target.offset + target.length - 8]! ^= 0x01;
    writeFileSync(file, flipped);
    handle = await open(file, 'r');
    try {
      await expect(collect(readBlocks(handle, blocks, 4096))).rejects.toThrow(BlockFormatError);
      await expect(collect(readBlocks(handle, blocks.slice(10), 100))).rejects.toThrow(
        `block at byte ${target.offset} fails its CRC-32`,
      );
    } finally {
      await handle.close();
    }

    // Cut in the middle of the last block.
    const last = blocks.at(-1)!;
    writeFileSync(file, bytes.subarray(0, last.offset + Math.floor(last.length / 2)));
    handle = await open(file, 'r');
    try {
      await expect(collect(readBlocks(handle, blocks, 4096))).rejects.toThrow(
        `block at byte ${last.offset} is cut short`,
      );
      await expect(listBlocks(handle)).rejects.toThrow(`block at byte ${last.offset} is cut short`);
    } finally {
      await handle.close();
    }
  });
});
