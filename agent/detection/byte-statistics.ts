/**
 * Byte statistics of one entry, from sampled windows, in the scan's single pass.
 *
 * Pearson's chi-square of a byte histogram against the uniform distribution is what separates
 * ciphertext from everything else that is not itself compressed: for uniformly random bytes it
 * stays near 255 (255 degrees of freedom, standard deviation ≈ 22.6) however many bytes are
 * sampled, while for any biased source it grows with the sample. So the statistics are taken
 * over windows spread through the whole entry — at most MAX_WINDOWS of WINDOW_BYTES, so a
 * 100 GiB entry costs the same 1 MiB of counting as a 1 MiB one — and kept per window (to find
 * random stretches inside otherwise structured content: partial encryption), in total (whole
 * files), for the first window (encrypted headers), and per slot of the periodic patterns
 * intermittent encryption uses (16 bytes on / 16 off, 64 on / 128 or 192 off), where the "on"
 * bytes are uniform and the "off" bytes keep the original's bias.
 *
 * Statistics alone never decide below 64 KiB (see classify.ts); this module only measures.
 */

/** Bytes per sampled window. */
export const WINDOW_BYTES = 4096;
/** Windows sampled from a large entry (1 MiB in all); smaller entries are sampled completely. */
export const MAX_WINDOWS = 256;
/** Lengths of the starts of an entry measured on their own: headers live there. */
export const PREFIX_LENGTHS = [256, 512] as const;
/** Periodic patterns checked: [period, leading bytes encrypted per period]. */
export const PERIODIC_PATTERNS: readonly (readonly [number, number])[] = [
  [32, 16],
  [192, 64],
  [256, 64],
];

/** Mean of chi-square over 256 bins for uniform bytes. */
export const UNIFORM_CHI2 = 255;
/** Standard deviation of that chi-square (√(2·255)). */
export const UNIFORM_CHI2_SD = Math.sqrt(2 * 255);
/**
 * A histogram whose chi-square is below this is consistent with uniformly random bytes: six
 * standard deviations above the mean, so real ciphertext fails it about once in 10⁹ windows.
 */
export const RANDOM_CHI2_LIMIT = UNIFORM_CHI2 + 6 * UNIFORM_CHI2_SD;
/** Fewer bytes than this make a chi-square meaningless (under one expected count per bin). */
export const MIN_CHI2_BYTES = 256;

/** One stretch of sampled windows that all looked random: [start, end) byte offsets. */
export type ByteRun = [number, number];

/** Chi-square of the two halves of one periodic pattern. */
export interface PeriodicStats {
  period: number;
  on: number;
  /** Chi-square of the bytes in the first `on` bytes of each period. */
  onChi2: number;
  /** Chi-square of the other bytes. */
  offChi2: number;
  /** Bytes counted in the `on` slots. */
  onBytes: number;
}

/** What the statistics of one entry say. Plain data. */
export interface ByteStats {
  /** Bytes counted in all. */
  sampledBytes: number;
  /** Full windows sampled. */
  windows: number;
  /** Of those, windows whose chi-square says random. */
  randomWindows: number;
  /** Chi-square of every sampled byte together. */
  chi2: number;
  /** Chi-square of the first window (or of the whole entry when shorter), and its length. */
  head: { bytes: number; chi2: number };
  /** Chi-square of the first 256 and 512 bytes (where formats keep their headers), and their lengths. */
  prefixes: { bytes: number; chi2: number }[];
  /** Median chi-square of the windows that did not look random; null when there were none. */
  structuredMedianChi2: number | null;
  /** Stretches of consecutive sampled windows that looked random (at most MAX_RUNS). */
  randomRuns: ByteRun[];
  /** Per pattern in PERIODIC_PATTERNS. */
  periodic: PeriodicStats[];
}

const MAX_RUNS = 16;
/** Sampled windows the periodic patterns are counted over (256 KiB). */
const PERIODIC_WINDOWS = 64;

/** Adds `data[start..end)` to `histogram`, a 32-bit word at a time where the bytes are aligned. */
function countBytes(histogram: Uint32Array, data: Uint8Array, start: number, end: number): void {
  let i = start;
  const misaligned = (data.byteOffset + i) & 3;
  const head = misaligned ? Math.min(end, i + (4 - misaligned)) : i;
  for (; i < head; i++) histogram[data[i]!]!++;
  const words = (end - i) >>> 2;
  if (words > 0) {
    // Little- or big-endian does not matter: all four bytes of each word are counted.
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) {
      const v = view[w]!;
      histogram[v & 255]!++;
      histogram[(v >>> 8) & 255]!++;
      histogram[(v >>> 16) & 255]!++;
      histogram[v >>> 24]!++;
    }
    i += words * 4;
  }
  for (; i < end; i++) histogram[data[i]!]!++;
}

/** Pearson's chi-square of `histogram` (256 counts summing to `total`) against uniform. */
export function chiSquare(histogram: ArrayLike<number>, total: number): number {
  if (total === 0) return 0;
  const expected = total / 256;
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    const difference = histogram[i]! - expected;
    sum += difference * difference;
  }
  return sum / expected;
}

/** True when `chi2` over `bytes` bytes is consistent with uniformly random bytes. */
export function looksRandom(chi2: number, bytes: number): boolean {
  return bytes >= MIN_CHI2_BYTES && chi2 < RANDOM_CHI2_LIMIT;
}

/** Which windows of an entry of `size` bytes are sampled: all of them, or MAX_WINDOWS spread evenly. */
export function sampledWindows(size: number): (index: number) => boolean {
  const count = Math.floor(size / WINDOW_BYTES);
  if (count <= MAX_WINDOWS) return () => true;
  const chosen = new Set<number>();
  for (let i = 0; i < MAX_WINDOWS; i++) chosen.add(Math.round((i * (count - 1)) / (MAX_WINDOWS - 1)));
  return (index) => chosen.has(index);
}

/**
 * A sampler's histograms: total, periodic total and a scratch one (Float64); window, head, one
 * per prefix and one per periodic pattern (Uint32: the hot per-byte counts are integer
 * increments, and no 32-bit count can overflow — windows hold 4 KiB, the periodic counts 256 KiB).
 */
const FLOAT_HISTOGRAMS = 3;
const UINT_HISTOGRAMS = 2 + PREFIX_LENGTHS.length + PERIODIC_PATTERNS.length;
const HISTOGRAM_BYTES = 256 * (FLOAT_HISTOGRAMS * 8 + UINT_HISTOGRAMS * 4);
/**
 * Histogram memory of finished samplers, reused: a scan of a million small files would otherwise
 * allocate and free gigabytes of short-lived typed arrays, which the allocator does not give back.
 */
const spareHistograms: ArrayBuffer[] = [];
const MAX_SPARE = 32;

function histogramMemory(): ArrayBuffer {
  const reused = spareHistograms.pop();
  if (!reused) return new ArrayBuffer(HISTOGRAM_BYTES);
  new Uint8Array(reused).fill(0);
  return reused;
}

/** Streams an entry's bytes into sampled-window statistics. */
export class ByteSampler {
  private readonly selected: (index: number) => boolean;
  private readonly memory = histogramMemory();
  private readonly total = new Float64Array(this.memory, 0, 256);
  private readonly window = new Uint32Array(this.memory, FLOAT_HISTOGRAMS * 2048, 256);
  private readonly head = new Uint32Array(this.memory, FLOAT_HISTOGRAMS * 2048 + 1024, 256);
  private readonly prefixes = PREFIX_LENGTHS.map(
    (_, i) => new Uint32Array(this.memory, FLOAT_HISTOGRAMS * 2048 + (2 + i) * 1024, 256),
  );
  private readonly periodicOn: Uint32Array[] = PERIODIC_PATTERNS.map(
    (_, i) =>
      new Uint32Array(this.memory, FLOAT_HISTOGRAMS * 2048 + (2 + PREFIX_LENGTHS.length + i) * 1024, 256),
  );
  /** Histogram of the bytes the periodic counts covered. */
  private readonly periodicTotal = new Float64Array(this.memory, 2048, 256);
  /** Set once finish() gave the memory back. */
  private released = false;
  /** Scratch space for finish(). */
  private readonly scratch = new Float64Array(this.memory, 2 * 2048, 256);
  private periodicBytes = 0;
  private headBytes = 0;
  private offset = 0;
  private windowFill = 0;
  private sampled = 0;
  private windows = 0;
  private randomWindows = 0;
  private readonly structuredChi2: number[] = [];
  private readonly runs: ByteRun[] = [];
  private lastRandomWindow = -2;

  /** `size` is the declared size; sampling is planned from it (a shorter stream just ends early). */
  constructor(size: number) {
    this.selected = sampledWindows(Math.max(size, 0));
  }

  /** Counts the next chunk. */
  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const index = Math.floor(this.offset / WINDOW_BYTES);
      const windowEnd = (index + 1) * WINDOW_BYTES;
      const take = Math.min(chunk.length - at, windowEnd - this.offset);
      if (index === 0) this.countHead(chunk, at, take);
      if (this.selected(index)) this.countWindow(chunk, at, take, index);
      at += take;
      this.offset += take;
    }
  }

  /** The statistics; call once after the last chunk (the sampler's memory is reused afterwards). */
  finish(): ByteStats {
    // A partial last window still counts toward the totals, just not as a window of its own.
    if (this.windowFill > 0) this.mergeWindow(false, -1);
    const sorted = [...this.structuredChi2].sort((a, b) => a - b);
    const stats: ByteStats = {
      sampledBytes: this.sampled,
      windows: this.windows,
      randomWindows: this.randomWindows,
      chi2: chiSquare(this.total, this.sampled),
      head: { bytes: this.headBytes, chi2: chiSquare(this.head, this.headBytes) },
      prefixes: PREFIX_LENGTHS.map((length, i) => {
        const bytes = Math.min(this.headBytes, length);
        return { bytes, chi2: chiSquare(this.prefixes[i]!, bytes) };
      }),
      structuredMedianChi2: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null,
      randomRuns: this.runs,
      periodic: PERIODIC_PATTERNS.map(([period, on], i) => {
        const onHistogram = this.periodicOn[i]!;
        const offHistogram = this.scratch;
        for (let byte = 0; byte < 256; byte++)
          offHistogram[byte] = this.periodicTotal[byte]! - onHistogram[byte]!;
        const onBytes = sum(onHistogram);
        return {
          period,
          on,
          onChi2: chiSquare(onHistogram, onBytes),
          offChi2: chiSquare(offHistogram, this.periodicBytes - onBytes),
          onBytes,
        };
      }),
    };
    if (!this.released && spareHistograms.length < MAX_SPARE) spareHistograms.push(this.memory);
    this.released = true;
    return stats;
  }

  /** The first window's prefixes; its histogram is the first window's, copied when that merges. */
  private countHead(chunk: Uint8Array, at: number, take: number): void {
    PREFIX_LENGTHS.forEach((length, i) => {
      const count = Math.min(take, length - this.headBytes);
      if (count > 0) countBytes(this.prefixes[i]!, chunk, at, at + count);
    });
    this.headBytes += take;
  }

  private countWindow(chunk: Uint8Array, at: number, take: number, index: number): void {
    const end = at + take;
    countBytes(this.window, chunk, at, end);
    // Periodic slots by absolute offset (intermittent encryption counts from the file's start),
    // in the first PERIODIC_WINDOWS sampled windows: plenty for the test, a quarter of the cost.
    // Only the "on" slots are counted; the "off" histogram is the total minus them.
    if (this.windows >= PERIODIC_WINDOWS) return this.completeWindow(take, index);
    this.periodicBytes += take;
    for (let p = 0; p < PERIODIC_PATTERNS.length; p++) {
      const [period, on] = PERIODIC_PATTERNS[p]!;
      const histogram = this.periodicOn[p]!;
      let i = at;
      let slot = this.offset % period;
      while (i < end) {
        if (slot < on) {
          const stop = Math.min(end, i + (on - slot));
          for (let j = i; j < stop; j++) histogram[chunk[j]!]!++;
          i = stop;
        } else {
          i = Math.min(end, i + (period - slot));
        }
        slot = 0;
        // Re-align when the run ended inside a period (end of the chunk).
        if (i < end) slot = (this.offset + (i - at)) % period;
      }
    }
    this.completeWindow(take, index);
  }

  private completeWindow(take: number, index: number): void {
    this.windowFill += take;
    if (this.windowFill === WINDOW_BYTES) this.mergeWindow(true, index);
  }

  private mergeWindow(full: boolean, index: number): void {
    const window = this.window;
    const periodic = this.windows < PERIODIC_WINDOWS;
    for (let i = 0; i < 256; i++) {
      this.total[i]! += window[i]!;
      if (periodic) this.periodicTotal[i]! += window[i]!;
    }
    this.sampled += this.windowFill;
    // The first window (always sampled) is the head: full, or the whole of a shorter entry.
    if (full ? index === 0 : this.windows === 0) this.head.set(window);
    if (full) {
      const chi2 = chiSquare(window, WINDOW_BYTES);
      this.windows++;
      if (looksRandom(chi2, WINDOW_BYTES)) {
        this.randomWindows++;
        this.extendRun(index);
      } else {
        this.structuredChi2.push(chi2);
      }
    }
    window.fill(0);
    this.windowFill = 0;
  }

  /** Random windows that are neighbours among the sampled ones form one run. */
  private extendRun(index: number): void {
    const start = index * WINDOW_BYTES;
    const end = start + WINDOW_BYTES;
    const last = this.runs[this.runs.length - 1];
    if (last && this.lastRandomWindow >= 0 && this.previousSampled(index) === this.lastRandomWindow)
      last[1] = end;
    else if (this.runs.length < MAX_RUNS) this.runs.push([start, end]);
    this.lastRandomWindow = index;
  }

  private previousSampled(index: number): number {
    for (let i = index - 1; i >= 0; i--) if (this.selected(i)) return i;
    return -1;
  }
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}
