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

/**
 * `a` then `b`; one of them itself (not a copy) when the other is empty, and one view of both
 * (not a copy) when `b` follows `a` in the same memory, as the rest of a chunk follows a part of it.
 */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  if (a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset)
    return new Uint8Array(a.buffer, a.byteOffset, a.length + b.length);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A fixed-size field (a header, a size, a CRC) gathered from chunks that may cut it anywhere.
 * `need` may grow while it is gathered, for headers whose first bytes give their length.
 */
export class Field {
  readonly bytes: Uint8Array;
  /** Bytes gathered so far. */
  filled = 0;
  /** Entry offset of the field's first byte. */
  start = 0;

  constructor(
    capacity: number,
    /** Bytes the field has when complete. */
    public need: number,
  ) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Starts gathering the next field, of `need` bytes. */
  expect(need: number): void {
    this.filled = 0;
    this.need = need;
  }

  /** Copies what the field still needs from `chunk` at `at`, which is entry offset `position`; returns how many bytes it took. */
  take(chunk: Uint8Array, at: number, position: number): number {
    const take = Math.min(this.need - this.filled, chunk.length - at);
    if (this.filled === 0) this.start = position;
    this.bytes.set(chunk.subarray(at, at + take), this.filled);
    this.filled += take;
    return take;
  }

  /** The field holds all `need` bytes. */
  get complete(): boolean {
    return this.filled === this.need;
  }
}
