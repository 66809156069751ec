/**
 * A minimal, real PNG encoder (8-bit RGB, non-interlaced) and a tiny raster to draw simple product
 * pictures on. Chunks carry real CRC-32s and IDAT is zlib-deflated with per-row adaptive filters, so
 * any PNG decoder (and vouch's structure validator) accepts the output.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as used by PNG, gzip and zip). `previous` continues an earlier CRC. */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++)
    crc = (CRC_TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One chunk: length, type, data, CRC over type + data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An RGB raster with a few drawing primitives (no anti-aliasing; this is a demo, not art). */
export class Raster {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
  }

  set(x: number, y: number, [r, g, b]: readonly [number, number, number]): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const at = (Math.floor(y) * this.width + Math.floor(x)) * 3;
    this.pixels[at] = r;
    this.pixels[at + 1] = g;
    this.pixels[at + 2] = b;
  }

  /** A vertical gradient from `top` to `bottom`. */
  gradient(top: readonly [number, number, number], bottom: readonly [number, number, number]): void {
    for (let y = 0; y < this.height; y++) {
      const t = y / Math.max(1, this.height - 1);
      const colour = [0, 1, 2].map((i) =>
        Math.round((top[i] as number) * (1 - t) + (bottom[i] as number) * t),
      ) as [number, number, number];
      for (let x = 0; x < this.width; x++) this.set(x, y, colour);
    }
  }

  rect(x0: number, y0: number, w: number, h: number, colour: readonly [number, number, number]): void {
    for (let y = Math.round(y0); y < y0 + h; y++)
      for (let x = Math.round(x0); x < x0 + w; x++) this.set(x, y, colour);
  }

  /** Fills every pixel with `paint(x, y)` (for gradients and textures). */
  paint(paint: (x: number, y: number) => readonly [number, number, number]): void {
    for (let y = 0; y < this.height; y++) for (let x = 0; x < this.width; x++) this.set(x, y, paint(x, y));
  }

  /** A rectangle lit from the top left: lighter at the top, darker towards the bottom right. */
  shadedRect(
    x0: number,
    y0: number,
    w: number,
    h: number,
    [r, g, b]: readonly [number, number, number],
  ): void {
    for (let y = Math.round(y0); y < y0 + h; y++) {
      for (let x = Math.round(x0); x < x0 + w; x++) {
        const f = 1.12 - 0.22 * ((y - y0) / h) - 0.1 * ((x - x0) / w);
        this.set(x, y, [
          Math.min(255, Math.round(r * f)),
          Math.min(255, Math.round(g * f)),
          Math.min(255, Math.round(b * f)),
        ]);
      }
    }
  }

  circle(cx: number, cy: number, radius: number, colour: readonly [number, number, number], inner = 0): void {
    for (let y = Math.floor(cy - radius); y <= cy + radius; y++) {
      for (let x = Math.floor(cx - radius); x <= cx + radius; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        if (d2 <= radius * radius && d2 >= inner * inner) this.set(x, y, colour);
      }
    }
  }

  /** A thick straight line. */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    thickness: number,
    colour: readonly [number, number, number],
  ): void {
    const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0));
    for (let i = 0; i <= steps; i++) {
      const t = steps === 0 ? 0 : i / steps;
      this.circle(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, thickness / 2, colour);
    }
  }
}

/** Filter byte `type` (0 None, 1 Sub, 2 Up) of byte `i` of a row. */
function filtered(type: number, row: Uint8Array, above: Uint8Array | null, i: number): number {
  const value = row[i] as number;
  if (type === 1) return (value - (i >= 3 ? (row[i - 3] as number) : 0)) & 0xff;
  if (type === 2) return (value - (above ? (above[i] as number) : 0)) & 0xff;
  return value;
}

/** Adaptive filtering as libpng does it (minimum sum of absolute differences), over None, Sub and Up. */
function filterRows(raster: Raster): Buffer {
  const stride = raster.width * 3;
  const out = Buffer.alloc((stride + 1) * raster.height);
  for (let y = 0; y < raster.height; y++) {
    const row = raster.pixels.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? raster.pixels.subarray((y - 1) * stride, y * stride) : null;
    let bestType = 0;
    let bestScore = Infinity;
    for (const type of [0, 1, 2]) {
      let score = 0;
      for (let i = 0; i < stride && score < bestScore; i++) {
        const byte = filtered(type, row, above, i);
        score += byte < 128 ? byte : 256 - byte;
      }
      if (score < bestScore) {
        bestScore = score;
        bestType = type;
      }
    }
    const at = y * (stride + 1);
    out[at] = bestType;
    for (let i = 0; i < stride; i++) out[at + 1 + i] = filtered(bestType, row, above, i);
  }
  return out;
}

/** Encodes a raster as PNG, with optional tEXt chunks; IDAT is split in 8 KiB chunks as libpng does. */
export function encodePng(raster: Raster, text: Readonly<Record<string, string>> = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(raster.width, 0);
  ihdr.writeUInt32BE(raster.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const phys = Buffer.alloc(9);
  phys.writeUInt32BE(2835, 0); // 72 dpi
  phys.writeUInt32BE(2835, 4);
  phys[8] = 1; // unit: metre
  const chunks = [PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('pHYs', phys)];
  for (const [key, value] of Object.entries(text))
    chunks.push(pngChunk('tEXt', Buffer.from(`${key}\0${value}`, 'latin1')));
  const compressed = deflateSync(filterRows(raster), { level: 6 });
  for (let at = 0; at < compressed.length; at += 8192)
    chunks.push(pngChunk('IDAT', compressed.subarray(at, at + 8192)));
  chunks.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(chunks);
}
