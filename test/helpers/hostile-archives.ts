/**
 * Builds tar and zip bytes in memory for archive-reader tests, hostile ones included. Tar
 * headers are written by hand (with a correct checksum) because tar-stream's packer refuses to
 * produce `..` names, devices with data, 10 GB size fields and the like. Zips come from yazl;
 * names it refuses are written as same-length placeholders and patched afterwards.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ZipFile } from 'yazl';

const BLOCK = 512;

/** One tar header as it will be written. */
export interface TarHeaderSpec {
  /** The name field; a Buffer to write raw (e.g. invalid UTF-8) bytes. At most 100 bytes. */
  name: string | Buffer;
  /** Typeflag character: '0' file, '1' hardlink, '2' symlink, '3' char device, '4' block device, '5' dir, '6' FIFO, 'x' PAX, 'L' GNU long name. */
  type?: string;
  /** The size field; above 8^11-1 it is written in base-256 as GNU tar does. */
  size?: number;
  linkname?: string;
  mode?: number;
  mtime?: number;
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** One 512-byte ustar header with a valid checksum. */
export function tarHeader(spec: TarHeaderSpec): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = typeof spec.name === 'string' ? Buffer.from(spec.name, 'utf8') : spec.name;
  if (name.length > 100) throw new Error(`tarHeader: name over 100 bytes: ${name.length}`);
  name.copy(block, 0);
  writeOctal(block, 100, 8, spec.mode ?? 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  const size = spec.size ?? 0;
  if (size < 8 ** 11) {
    writeOctal(block, 124, 12, size);
  } else {
    block[124] = 0x80;
    let rest = size;
    for (let i = 135; i > 124; i--) {
      block[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  }
  writeOctal(block, 136, 12, spec.mtime ?? 1_700_000_000);
  block.write(spec.type ?? '0', 156, 1, 'ascii');
  if (spec.linkname) block.write(spec.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** `data` padded with zeros to a whole number of blocks. */
export function padded(data: Buffer): Buffer {
  const extra = data.length % BLOCK;
  return extra === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - extra)]);
}

/** A header plus its (padded) data; `size` defaults to the data's length. */
export function tarEntry(spec: TarHeaderSpec, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([tarHeader({ size: data.length, ...spec }), padded(data)]);
}

/** A PAX extended header: 'x' applies to the next entry, 'g' (global) to every entry after it. */
export function paxHeader(records: Record<string, string>, type: 'x' | 'g' = 'x'): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const line = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(line) + 1;
    while (String(length).length + Buffer.byteLength(line) !== length) length += 1;
    body += `${length}${line}`;
  }
  return tarEntry(
    { name: type === 'g' ? 'GlobalHead.0' : 'PaxHeaders/entry', type },
    Buffer.from(body, 'utf8'),
  );
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** A whole tar: the parts, then the end-of-archive marker. */
export function tarArchive(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, tarEnd()]);
}

/** Offset of the header of the entry named `name` in a tar built by these helpers. */
export function headerOffset(tar: Buffer, name: string): number {
  for (let at = 0; at + BLOCK <= tar.length; at += BLOCK) {
    const field = tar.subarray(at, at + 100);
    const end = field.indexOf(0);
    if (field.subarray(0, end === -1 ? 100 : end).toString('utf8') === name && tar[at + 257] === 0x75)
      return at;
  }
  throw new Error(`headerOffset: no header named ${name}`);
}

/** A tar stream of `count` empty files (`d/e-0000001` …), generated lazily. */
export async function* manyEmptyEntries(count: number): AsyncGenerator<Buffer> {
  const batch: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    batch.push(tarHeader({ name: `d/e-${String(i).padStart(7, '0')}` }));
    if (batch.length === 128) yield Buffer.concat(batch.splice(0));
  }
  if (batch.length) yield Buffer.concat(batch);
  yield tarEnd();
}

/** A tar holding one file of `size` zero bytes, generated lazily. */
export async function* zeroFileTar(name: string, size: number): AsyncGenerator<Buffer> {
  yield tarHeader({ name, size });
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length)
    yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  yield padded(Buffer.alloc(size % BLOCK));
  yield tarEnd();
}

/** Gzips a stream of chunks into one buffer. */
export async function gzipAll(chunks: AsyncIterable<Buffer>, level = 9): Promise<Buffer> {
  const gzip = createGzip({ level });
  Readable.from(chunks).pipe(gzip);
  const out: Buffer[] = [];
  for await (const chunk of gzip) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

/** One zip member for `zipArchive`. */
export interface ZipMemberSpec {
  name: string;
  data?: Buffer;
  /** Unix mode including type bits, e.g. 0o120777 for a symlink. */
  mode?: number;
  compress?: boolean;
  directory?: boolean;
}

/** A zip built by yazl. */
export async function zipArchive(members: ZipMemberSpec[]): Promise<Buffer> {
  const zip = new ZipFile();
  const mtime = new Date('2025-01-01T00:00:00Z');
  for (const member of members) {
    if (member.directory) zip.addEmptyDirectory(member.name, { mtime });
    else
      zip.addBuffer(member.data ?? Buffer.alloc(0), member.name, {
        mtime,
        compress: member.compress ?? true,
        ...(member.mode !== undefined ? { mode: member.mode } : {}),
      });
  }
  zip.end();
  const out: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) out.push(chunk);
  return Buffer.concat(out);
}

/** Replaces every occurrence of `from` with the same-length `to` (e.g. a placeholder name). */
export function patchBytes(buffer: Buffer, from: string, to: string): Buffer {
  const search = Buffer.from(from, 'utf8');
  const replacement = Buffer.from(to, 'utf8');
  if (search.length !== replacement.length) throw new Error('patchBytes: lengths differ');
  const out = Buffer.from(buffer);
  let found = 0;
  for (let at = out.indexOf(search); at !== -1; at = out.indexOf(search, at + 1)) {
    replacement.copy(out, at);
    found += 1;
  }
  if (found === 0) throw new Error(`patchBytes: '${from}' not found`);
  return out;
}

/** Offsets of the central directory headers of a zip, in order. */
export function centralHeaders(zip: Buffer): number[] {
  const offsets: number[] = [];
  const signature = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let at = zip.indexOf(signature); at !== -1; at = zip.indexOf(signature, at + 46)) offsets.push(at);
  return offsets;
}

/** Changes fields of the `index`th central directory header (the reader trusts these). */
export function patchCentral(
  zip: Buffer,
  index: number,
  fields: { flags?: number; crc32?: number; uncompressedSize?: number },
): Buffer {
  const out = Buffer.from(zip);
  const at = centralHeaders(out)[index];
  if (at === undefined) throw new Error(`patchCentral: no central header ${index}`);
  if (fields.flags !== undefined) out.writeUInt16LE(fields.flags, at + 8);
  if (fields.crc32 !== undefined) out.writeUInt32LE(fields.crc32 >>> 0, at + 16);
  if (fields.uncompressedSize !== undefined) out.writeUInt32LE(fields.uncompressedSize, at + 24);
  return out;
}

/** Changes the same fields in the `index`th member's local header and central record: a member whose two headers agree on a lie. */
export function patchMember(
  zip: Buffer,
  index: number,
  fields: { crc32?: number; uncompressedSize?: number },
): Buffer {
  const out = patchCentral(zip, index, fields);
  const { localHeader } = centralFields(out, index);
  if (fields.crc32 !== undefined) out.writeUInt32LE(fields.crc32 >>> 0, localHeader + 14);
  if (fields.uncompressedSize !== undefined) out.writeUInt32LE(fields.uncompressedSize, localHeader + 22);
  return out;
}

/** Reads fields of the `index`th central directory header. */
export function centralFields(
  zip: Buffer,
  index: number,
): {
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeader: number;
} {
  const at = centralHeaders(zip)[index];
  if (at === undefined) throw new Error(`centralFields: no central header ${index}`);
  return {
    flags: zip.readUInt16LE(at + 8),
    method: zip.readUInt16LE(at + 10),
    crc32: zip.readUInt32LE(at + 16),
    compressedSize: zip.readUInt32LE(at + 20),
    uncompressedSize: zip.readUInt32LE(at + 24),
    localHeader: zip.readUInt32LE(at + 42),
  };
}

/** The stored (compressed) bytes of the `index`th member. */
export function storedBytes(zip: Buffer, index: number): Buffer {
  const { localHeader, compressedSize } = centralFields(zip, index);
  const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
  return zip.subarray(start, start + compressedSize);
}

/**
 * A zip whose `count` central directory records all point at the first member's data (names
 * `m0`, `m1`, …): an overlapping-member bomb, small on disk and huge once read.
 */
export function overlappingZip(single: Buffer, count: number): Buffer {
  const cd = centralHeaders(single)[0];
  if (cd === undefined || centralHeaders(single).length !== 1)
    throw new Error('overlappingZip: need a one-member zip');
  const nameLength = single.readUInt16LE(cd + 28);
  const recordLength = 46 + nameLength + single.readUInt16LE(cd + 30) + single.readUInt16LE(cd + 32);
  const record = single.subarray(cd, cd + recordLength);
  const records = Array.from({ length: count }, (_, i) => {
    const copy = Buffer.from(record);
    copy.write(`m${i}`.padEnd(nameLength, '_'), 46, nameLength, 'utf8');
    return copy;
  });
  const directory = Buffer.concat(records);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(cd, 16);
  return Buffer.concat([single.subarray(0, cd), directory, end]);
}
