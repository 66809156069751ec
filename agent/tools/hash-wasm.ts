/** Loads hash-wasm (BLAKE3 digests, zstd's XXH64 frame checksums). */
import type * as HashWasm from 'hash-wasm';

/**
 * hash-wasm's exports. It is a CommonJS (UMD) package: Node's ES loader finds its names, but in the
 * bundle (scripts/build.ts) the import gives a module whose only export is `default` — so the
 * names are taken from `default` when they are not on the module itself.
 */
export async function loadHashWasm(): Promise<typeof HashWasm> {
  const module = (await import('hash-wasm')) as typeof HashWasm & { default?: typeof HashWasm };
  return typeof module.createBLAKE3 === 'function' ? module : (module.default ?? module);
}
