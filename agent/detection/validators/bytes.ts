/**
 * Byte-level helpers the validators share: fixed-width unsigned integers read from a byte array
 * (or the small arrays of header bytes some walks gather), and joining two byte arrays.
 * Reads past the end yield garbage rather than throwing; callers check lengths first.
 */

/** Bytes as the readers take them: a Uint8Array or a gathered `number[]`. */
type Bytes = ArrayLike<number>;

/** Little-endian 16-bit unsigned integer at `at`. */
export function u16le(b: Bytes, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Little-endian 32-bit unsigned integer at `at`. */
export function u32le(b: Bytes, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Little-endian 64-bit unsigned integer at `at`, as a Number (exact below 2^53). */
export function u64le(b: Bytes, at: number): number {
  return u32le(b, at) + u32le(b, at + 4) * 2 ** 32;
}

/** Big-endian 32-bit unsigned integer at `at`. */
export function u32be(b: Bytes, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Big-endian 64-bit unsigned integer at `at`, as a Number (exact below 2^53). */
export function u64be(b: Bytes, at: number): number {
  return u32be(b, at) * 2 ** 32 + u32be(b, at + 4);
}

/** `a` then `b`; one of them itself (not a copy) when the other is empty. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
