/** Builds real archives in test set-up: tar (tar-stream), tar.gz (zlib), tar.zst (zstd CLI), zip (yazl). */
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import yazl from 'yazl';

/** A file to put in an archive or directory. */
export interface FixtureFile {
  path: string;
  data: Buffer | string;
}

/** A ustar archive of `files`. */
export async function buildTar(files: readonly FixtureFile[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const file of files) {
    const data = Buffer.from(file.data);
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: file.path, size: data.length, mode: 0o644, mtime: new Date('2025-10-19T00:00:00Z') },
        data,
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A gzip-compressed tar. */
export async function buildTarGz(files: readonly FixtureFile[]): Promise<Buffer> {
  return gzipSync(await buildTar(files));
}

/** A zstd-compressed tar (with the zstd checksum), made by the real `zstd` tool. */
export async function buildTarZst(files: readonly FixtureFile[]): Promise<Buffer> {
  return execFileSync('zstd', ['-q', '-c', '--check'], { input: await buildTar(files), maxBuffer: 1 << 30 });
}

/** A zip (deflated members). */
export async function buildZip(files: readonly FixtureFile[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files)
    zip.addBuffer(Buffer.from(file.data), file.path, { mtime: new Date('2025-10-19T00:00:00Z') });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A small, realistic snapshot: a dump, a CSV and a binary blob, varied by `day`. */
export function sampleFiles(day: number): FixtureFile[] {
  const rows = Array.from(
    { length: 200 + day * 10 },
    (_, i) => `${i}\tcustomer-${i % 37}\t${(i * 7.31).toFixed(2)}`,
  ).join('\n');
  return [
    {
      path: 'db/orders.sql',
      data: `-- PostgreSQL database dump\nCOPY public.orders (id, customer, total) FROM stdin;\n${rows}\n\\.\n`,
    },
    { path: 'exports/orders.csv', data: `id,customer,total\n${rows.replaceAll('\t', ',')}\n` },
    {
      path: 'images/logo.bin',
      data: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + day) & 0xff)),
    },
    { path: 'README.txt', data: `backup of day ${day}\n` },
  ];
}
