/**
 * Streaming digests. SHA-256 runs in OpenSSL (node:crypto); BLAKE3 in hash-wasm. Both hash a
 * stream in one pass without holding it.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { DigestAlgorithm } from '../model/manifest.js';
import { loadHashWasm } from '../tools/hash-wasm.js';

/** Something that wants to see every chunk of an entry exactly once. */
export interface ChunkSink {
  update(chunk: Uint8Array): void;
}

/** An incremental digest. */
export interface Digester extends ChunkSink {
  /** Lower-case hex; call once, after the last update. */
  hex(): string;
}

type Blake3Factory = () => Promise<{
  init(): unknown;
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}>;
let blake3Factory: Promise<Blake3Factory> | null = null;

/** A new digester for `algorithm`. */
export async function createDigester(algorithm: DigestAlgorithm): Promise<Digester> {
  if (algorithm === 'sha256') {
    const hash = createHash('sha256');
    return { update: (chunk) => void hash.update(chunk), hex: () => hash.digest('hex') };
  }
  // Loaded on first use: the WebAssembly module costs start-up time that SHA-256 runs never need.
  blake3Factory ??= loadHashWasm().then((module) => module.createBLAKE3 as Blake3Factory);
  const hasher = await (await blake3Factory)();
  hasher.init();
  return { update: (chunk) => void hasher.update(chunk), hex: () => hasher.digest('hex') };
}

/** Result of reading a stream to its end. */
export interface StreamDigest {
  digest: string;
  bytes: number;
}

/**
 * Reads `stream` to the end on this thread, feeding the digest and every extra sink. Rejects with
 * the stream's error (the caller names the entry). Entry content goes through the analysis pool
 * instead (analysis/analyze-stream.ts); this serves whole objects and small reads.
 */
export async function digestStream(
  stream: Readable,
  algorithm: DigestAlgorithm,
  sinks: ChunkSink[] = [],
): Promise<StreamDigest> {
  const digester = await createDigester(algorithm);
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    digester.update(chunk);
    for (const sink of sinks) sink.update(chunk);
    bytes += chunk.length;
  }
  return { digest: digester.hex(), bytes };
}
