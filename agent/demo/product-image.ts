/**
 * Generated product pictures for the web shop: a flat, shaded drawing per category on a lit
 * backdrop with a wooden table top. Smooth patterns, not noise, so they compress like real
 * product shots of simple objects.
 */
import type { Product } from './kanda.js';
import { encodePng, Raster } from './png.js';
import { Random } from './prng.js';

type Rgb = readonly [number, number, number];

const COLOURS: Record<string, Rgb> = {
  Black: [40, 40, 46],
  Blue: [38, 86, 170],
  Red: [196, 48, 48],
  Green: [46, 140, 80],
  Cyan: [30, 170, 200],
  Magenta: [190, 40, 140],
  Yellow: [236, 196, 40],
};

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const shade = ([r, g, b]: Rgb, f: number): Rgb => [clamp(r * f), clamp(g * f), clamp(b * f)];

export const PRODUCT_IMAGE_SIZE = 192;

export function renderProductImage(seed: number, product: Product): Buffer {
  const random = new Random(seed, 'image', product.id);
  const size = PRODUCT_IMAGE_SIZE;
  const k = size / 128; // drawings are laid out on a 128-unit grid
  const img = new Raster(size, size);
  const wall: Rgb = [232 + random.int(0, 12), 234 + random.int(0, 10), 238 + random.int(0, 12)];
  const wood: Rgb = [178 + random.int(-12, 12), 136 + random.int(-10, 10), 96 + random.int(-10, 10)];
  const table = Math.round(100 * k);
  const grain = 0.03 + random.float() * 0.03;
  img.paint((x, y) => {
    if (y < table) {
      const d = Math.hypot(x - size * 0.45, y - size * 0.2) / size;
      return shade(wall, 1.04 - d * 0.22);
    }
    const ring = Math.sin(x * grain + Math.sin(y * 0.21) * 2.2 + y * 0.04);
    return shade(wood, 0.92 + 0.06 * ring - ((y - table) / size) * 0.3);
  });
  const named = Object.entries(COLOURS).find(([name]) => product.name.includes(name))?.[1];
  const accent: Rgb = named ?? [random.int(60, 200), random.int(60, 200), random.int(60, 200)];
  const rect = (x: number, y: number, w: number, h: number, c: Rgb) =>
    img.shadedRect(x * k, y * k, w * k, h * k, c);
  const flat = (x: number, y: number, w: number, h: number, c: Rgb) =>
    img.rect(x * k, y * k, w * k, h * k, c);
  const circle = (x: number, y: number, r: number, c: Rgb, inner = 0) =>
    img.circle(x * k, y * k, r * k, c, inner * k);
  const line = (x0: number, y0: number, x1: number, y1: number, t: number, c: Rgb) =>
    img.line(x0 * k, y0 * k, x1 * k, y1 * k, t * k, c);
  // Contact shadow on the table.
  for (let i = 0; i < 5; i++) flat(26 + i * 2, 100 + i, 76 - i * 4, 1, shade(wood, 0.62 + i * 0.06));

  switch (product.category) {
    case 'Paper':
      for (let i = 4; i >= 0; i--)
        rect(
          28 + i * 2,
          44 - i * 3,
          70,
          56,
          i === 0 ? [252, 252, 250] : shade([240, 240, 236], 1 - i * 0.03),
        );
      rect(28, 64, 70, 16, accent);
      flat(32, 69, 30, 2, [250, 250, 250]);
      break;
    case 'Writing':
      line(30, 96, 92, 34, 12, accent);
      line(92, 34, 100, 26, 5, shade(accent, 0.6));
      line(34, 92, 46, 80, 13, [60, 60, 64]);
      line(40, 86, 88, 38, 2, shade(accent, 1.3));
      break;
    case 'Notebooks':
      rect(34, 22, 62, 80, accent);
      rect(40, 26, 52, 72, [250, 250, 246]);
      for (let y = 36; y < 94; y += 7) flat(42, y, 48, 1, [170, 190, 220]);
      for (let y = 28; y < 98; y += 9) circle(36, y, 2.5, [90, 90, 96]);
      break;
    case 'Filing':
      rect(30, 30, 70, 70, shade(accent, 0.85));
      rect(30, 24, 28, 10, shade(accent, 0.85));
      rect(34, 38, 62, 60, accent);
      flat(52, 60, 26, 12, [248, 248, 248]);
      break;
    case 'Ink & Toner':
      rect(22, 50, 86, 48, [52, 52, 58]);
      rect(22, 50, 86, 8, [80, 80, 88]);
      rect(84, 62, 18, 26, accent);
      break;
    case 'Packaging':
      rect(30, 44, 68, 56, [196, 150, 96]);
      rect(30, 44, 68, 8, [176, 132, 82]);
      rect(60, 44, 8, 56, [220, 196, 150]);
      break;
    case 'Electronics':
      rect(36, 30, 56, 70, [58, 60, 66]);
      rect(42, 36, 44, 16, [170, 196, 170]);
      for (let r = 0; r < 4; r++)
        for (let c = 0; c < 4; c++) rect(42 + c * 11, 58 + r * 10, 8, 7, c === 3 ? accent : [210, 210, 214]);
      break;
    case 'Cleaning':
      rect(44, 40, 40, 60, accent);
      rect(54, 28, 20, 12, [240, 240, 240]);
      flat(48, 60, 32, 18, [250, 250, 250]);
      break;
    case 'Breakroom':
      rect(40, 44, 44, 56, [250, 250, 250]);
      rect(40, 58, 44, 18, accent);
      circle(92, 70, 12, [236, 236, 236], 7);
      break;
    default:
      circle(64, 66, 30, accent);
      circle(64, 66, 30, shade(accent, 0.7), 26);
      circle(64, 66, 12, wall);
  }
  return encodePng(img, { Software: 'Kanda PhotoStudio 2.1', Title: `${product.sku} ${product.name}` });
}
