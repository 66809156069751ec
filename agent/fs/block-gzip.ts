/**
 * Block gzip: a gzip file made of independent members (RFC 1952 allows any number), each of
 * which carries in its header's extra field its own total length and, optionally, a label (the
 * first key of the block). Any gzip tool reads the file as one stream; vouch can also list the
 * blocks by reading headers only and inflate just the block it needs — random access into a
 * compressed file, as BGZF does for genomics data.
 *
 * Member layout: 1f 8b 08 04 00000000 00 ff | XLEN | 'V' 'B' 04 00 <u32 member length>
 * [| 'V' 'L' <u16 n> <n label bytes>] | raw deflate | CRC-32 | ISIZE.
 */
import { readSync } from 'node:fs';
import { crc32, deflateRaw, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { FileHandle } from 'node:fs/promises';

const deflateRawAsync = promisify(deflateRaw);

/** Fixed part of a member header up to and including XLEN. */
const FIXED_HEADER = 12;
/** Largest label stored (longer ones are cut; labels only guide lookups). */
const MAX_LABEL_BYTES = 60_000;

/** One block as listed from the headers. */
export interface BlockInfo {
  /** Byte offset of the member in the file. */
  offset: number;
  /** Total member length. */
  length: number;
  /** The label stored with the block, or null. */
  label: string | null;
}

/** Not a block-gzip member where one was expected. */
export class BlockFormatError extends Error {
  override name = 'BlockFormatError';
}

/**
 * Bytes read at once when a file's blocks are walked in order (listing the headers, streaming the
 * blocks): one system call per window instead of two per block.
 */
const WINDOW_BYTES = 256 * 1024;

/** Compresses `data` into one member labelled `label` (level 6 deflate on libuv's thread pool). */
export async function encodeBlock(data: Buffer, label: string | null): Promise<Buffer> {
  const deflated = await deflateRawAsync(data, { level: 6 });
  const labelBytes =
    label === null ? Buffer.alloc(0) : Buffer.from(label, 'utf8').subarray(0, MAX_LABEL_BYTES);
  const extra = 8 + (label === null ? 0 : 4 + labelBytes.length);
  const header = Buffer.alloc(FIXED_HEADER + extra);
  header.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff]);
  header.writeUInt16LE(extra, 10);
  header.write('VB', 12, 'latin1');
  header.writeUInt16LE(4, 14);
  const length = header.length + deflated.length + 8;
  header.writeUInt32LE(length, 16);
  if (label !== null) {
    header.write('VL', 20, 'latin1');
    header.writeUInt16LE(labelBytes.length, 22);
    labelBytes.copy(header, 24);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, deflated, trailer]);
}

/** Reads exactly `length` bytes at `position`; fewer means the file ended. */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

/**
 * Reads forward through a file a window at a time, so many small reads in order (member headers,
 * then blocks) cost one system call per window. A buffer it returns may be a view of a window; a
 * window is never reused, so the view stays valid.
 */
class ForwardReader {
  private window: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly windowBytes: number,
  ) {}

  /** `length` bytes at `position`; fewer means the file ended. */
  async read(position: number, length: number): Promise<Buffer> {
    const at = position - this.start;
    if (at >= 0 && at + length <= this.window.length) return this.window.subarray(at, at + length);
    if (length >= this.windowBytes) return readAt(this.handle, position, length);
    this.window = await readAt(this.handle, position, this.windowBytes);
    this.start = position;
    return this.window.subarray(0, Math.min(length, this.window.length));
  }
}

/** The header of the member at `offset`, or null at the end of the file. */
async function memberAt(reader: ForwardReader, offset: number): Promise<BlockInfo | null> {
  const fixed = await reader.read(offset, FIXED_HEADER);
  if (fixed.length === 0) return null;
  if (
    fixed.length < FIXED_HEADER ||
    fixed[0] !== 0x1f ||
    fixed[1] !== 0x8b ||
    fixed[2] !== 8 ||
    !(fixed[3]! & 4)
  ) {
    throw new BlockFormatError(`no block-gzip member at byte ${offset}`);
  }
  const extraLength = fixed.readUInt16LE(10);
  const extra = await reader.read(offset + FIXED_HEADER, extraLength);
  if (extra.length < extraLength) throw new BlockFormatError(`block at byte ${offset} is cut short`);
  let length: number | null = null;
  let label: string | null = null;
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.toString('latin1', at, at + 2);
    const size = extra.readUInt16LE(at + 2);
    if (at + 4 + size > extra.length)
      throw new BlockFormatError(`gzip member at byte ${offset} has a malformed extra field`);
    if (id === 'VB' && size === 4) length = extra.readUInt32LE(at + 4);
    if (id === 'VL') label = extra.toString('utf8', at + 4, at + 4 + size);
    at += 4 + size;
  }
  if (length === null || length < FIXED_HEADER + 8)
    throw new BlockFormatError(`gzip member at byte ${offset} carries no block length`);
  return { offset, length, label };
}

/** Lists every block of an open file from the member headers alone. */
export async function listBlocks(handle: FileHandle): Promise<BlockInfo[]> {
  const blocks: BlockInfo[] = [];
  const reader = new ForwardReader(handle, WINDOW_BYTES);
  for (let offset = 0; ;) {
    const block = await memberAt(reader, offset);
    if (!block) return blocks;
    blocks.push(block);
    offset += block.length;
  }
}

/** Inflates one whole member read from `offset`, checking its CRC-32 and length. */
function inflateMember(member: Buffer, offset: number): Buffer {
  const headerLength = FIXED_HEADER + member.readUInt16LE(10);
  const data = inflateRawSync(member.subarray(headerLength, member.length - 8));
  if (
    crc32(data) !== member.readUInt32LE(member.length - 8) ||
    data.length >>> 0 !== member.readUInt32LE(member.length - 4)
  ) {
    throw new BlockFormatError(`block at byte ${offset} fails its CRC-32`);
  }
  return data;
}

/**
 * Inflates `blocks` (listed by `listBlocks`, in file order) one after another, reading the file a
 * window of `windowBytes` at a time. A block is a few KiB, so each is inflated synchronously: two
 * thread-pool round trips per block only added latency to a merge-join waiting on the next one.
 */
export async function* readBlocks(
  handle: FileHandle,
  blocks: Iterable<BlockInfo>,
  windowBytes = WINDOW_BYTES,
): AsyncGenerator<Buffer> {
  const reader = new ForwardReader(handle, windowBytes);
  for (const block of blocks) {
    const member = await reader.read(block.offset, block.length);
    if (member.length !== block.length)
      throw new BlockFormatError(`block at byte ${block.offset} is cut short`);
    yield inflateMember(member, block.offset);
  }
}

/**
 * Inflates one block synchronously. For lookups: a block is a few KiB, and a scan waits on each
 * lookup before the next entry anyway, so two thread-pool round trips per lookup would only add
 * latency (a million of them add up to minutes).
 */
export function readBlockSync(fd: number, block: BlockInfo): Buffer {
  const member = Buffer.alloc(block.length);
  let read = 0;
  while (read < block.length) {
    const got = readSync(fd, member, read, block.length - read, block.offset + read);
    if (got === 0) break;
    read += got;
  }
  if (read !== block.length) throw new BlockFormatError(`block at byte ${block.offset} is cut short`);
  return inflateMember(member, block.offset);
}
