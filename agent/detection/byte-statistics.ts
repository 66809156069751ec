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
  /**
   * Median chi-square of the windows that did not look random; null when there were none, or
   * when ByteSampler.whole proved that no window can look random and did not measure them.
   */
  structuredMedianChi2: number | null;
  /** Stretches of consecutive sampled windows that looked random (at most MAX_RUNS). */
  randomRuns: ByteRun[];
  /**
   * Per pattern in PERIODIC_PATTERNS, in that order; ByteSampler.whole leaves out the patterns
   * whose "on" slots it proved cannot look random (so none of them could be reported).
   */
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

  /** Every window of an entry of the declared size is sampled. */
  private readonly allSampled: boolean;

  /** `size` is the declared size; sampling is planned from it (a shorter stream just ends early). */
  constructor(size: number) {
    this.selected = sampledWindows(Math.max(size, 0));
    this.allSampled = Math.floor(Math.max(size, 0) / WINDOW_BYTES) <= MAX_WINDOWS;
  }

  /**
   * The statistics of an entry given whole in `data` (nothing before, nothing after), for the
   * same classification as `update(data)` then `finish()` and usually for less than half the
   * work. Call on a fresh sampler instead of update/finish; its memory is reused afterwards.
   *
   * When every window of the entry is sampled (entries up to MAX_WINDOWS windows), the total,
   * the head and the prefixes are counted in one pass, and the total histogram then decides what
   * else is worth counting. A subset of the entry holds each byte value at most as often as the
   * whole does, so byte values the entry rarely or never holds bound the chi-square of every
   * subset from below (`cannotLookRandom`): text leaves out a hundred values or more, bytecode
   * and catalogues dozens. Where that bound proves that no full window can look random, the
   * windows are not measured one by one; where it proves a periodic pattern's "on" slots cannot
   * look random, that pattern is not counted. What is skipped is only what no classification
   * rule can read for such an entry:
   * - `randomWindows` is 0 and `randomRuns` empty, as measuring would give;
   * - `structuredMedianChi2` is null: classify.ts reads it only in `randomFirstBlock`, behind a
   *   random first window, which the same proof rules out (the head is the first window);
   * - `periodic` lists only the patterns counted: classify.ts reads the list only to find a
   *   pattern whose "on" slots look random, which the left-out ones provably cannot.
   * `sampledBytes`, `windows`, `chi2`, `head` and `prefixes` are exactly what update/finish
   * give, and so is the content summary stored for the next scan's history (chi2, sampled): the
   * history rules (chi2-collapsed, random-before, wasStructured) judge the next scan as before.
   * When the bound does not hold for the windows (compressed or random bytes: decided after the
   * first window where possible), or `measureWindows` is set (a caller that expects so), it is
   * update/finish.
   */
  whole(data: Uint8Array, measureWindows = false): ByteStats {
    if (measureWindows || this.offset !== 0 || !this.allSampled) {
      this.update(data);
      return this.finish();
    }
    const length = data.length;
    const [prefix256, prefix512] = this.prefixes as [Uint32Array, Uint32Array];
    const headBytes = Math.min(length, WINDOW_BYTES);
    const periodicBytes = Math.min(length, PERIODIC_WINDOWS * WINDOW_BYTES);
    // Segments [0, 256), [256, 512), [512, head end), [head end, periodic end), [periodic end, end),
    // each histogram the sum of the previous one and its segment.
    countBytes(prefix256, data, 0, Math.min(length, PREFIX_LENGTHS[0]));
    countBytes(prefix512, data, Math.min(length, PREFIX_LENGTHS[0]), Math.min(length, PREFIX_LENGTHS[1]));
    addInto(prefix512, prefix256);
    countBytes(this.head, data, Math.min(length, PREFIX_LENGTHS[1]), headBytes);
    addInto(this.head, prefix512);
    const windows = Math.floor(length / WINDOW_BYTES);
    // The bound only weakens as bytes are added: when the first window fails it, so will the whole.
    if (windows > 0 && !noWindowLooksRandom(this.head)) return this.measureWindows(data);
    const rest = this.window;
    countBytes(rest, data, headBytes, periodicBytes);
    for (let i = 0; i < 256; i++) this.periodicTotal[i] = this.head[i]! + rest[i]!;
    rest.fill(0);
    countBytes(rest, data, periodicBytes, length);
    for (let i = 0; i < 256; i++) this.total[i] = this.periodicTotal[i]! + rest[i]!;
    rest.fill(0);
    if (windows > 0 && !noWindowLooksRandom(this.total)) return this.measureWindows(data);
    // Only the patterns whose "on" slots could be uniform are counted (and reported).
    const patterns: number[] = [];
    for (let p = 0; p < PERIODIC_PATTERNS.length; p++) {
      const [period, on] = PERIODIC_PATTERNS[p]!;
      if (!slotsCanLookRandom(this.periodicTotal, onBytesOf(periodicBytes, period, on))) continue;
      patterns.push(p);
      const histogram = this.periodicOn[p]!;
      for (let start = 0; start < periodicBytes; start += period) {
        const stop = Math.min(periodicBytes, start + on);
        for (let j = start; j < stop; j++) histogram[data[j]!]!++;
      }
    }
    this.periodicBytes = periodicBytes;
    this.headBytes = headBytes;
    this.offset = length;
    const stats: ByteStats = {
      sampledBytes: length,
      windows,
      randomWindows: 0,
      chi2: chiSquare(this.total, length),
      head: { bytes: headBytes, chi2: chiSquare(this.head, headBytes) },
      prefixes: this.prefixStats(),
      structuredMedianChi2: null,
      randomRuns: [],
      periodic: this.periodicStats(patterns),
    };
    this.release();
    return stats;
  }

  /** whole() when some window could be random: the counts so far dropped, update/finish. */
  private measureWindows(data: Uint8Array): ByteStats {
    for (const histogram of [this.total, this.periodicTotal, this.head, ...this.prefixes]) histogram.fill(0);
    this.update(data);
    return this.finish();
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
      prefixes: this.prefixStats(),
      structuredMedianChi2: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null,
      randomRuns: this.runs,
      periodic: this.periodicStats(),
    };
    this.release();
    return stats;
  }

  private prefixStats(): { bytes: number; chi2: number }[] {
    return PREFIX_LENGTHS.map((length, i) => {
      const bytes = Math.min(this.headBytes, length);
      return { bytes, chi2: chiSquare(this.prefixes[i]!, bytes) };
    });
  }

  /** The periodic statistics of the patterns at `indices` in PERIODIC_PATTERNS (all by default). */
  private periodicStats(indices: readonly number[] = PERIODIC_PATTERNS.map((_, i) => i)): PeriodicStats[] {
    return indices.map((i) => {
      const [period, on] = PERIODIC_PATTERNS[i]!;
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
    });
  }

  /** Gives the histogram memory back for the next sampler. */
  private release(): void {
    if (!this.released && spareHistograms.length < MAX_SPARE) spareHistograms.push(this.memory);
    this.released = true;
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

/** Adds `addend` into `histogram`, bin by bin. */
function addInto(histogram: Uint32Array, addend: Uint32Array): void {
  for (let i = 0; i < 256; i++) histogram[i]! += addend[i]!;
}

/** True when no full window (WINDOW_BYTES) of an entry whose byte histogram is `total` can look random. Pure. */
export function noWindowLooksRandom(total: ArrayLike<number>): boolean {
  return cannotLookRandom(total, WINDOW_BYTES);
}

/** Bytes in the "on" slots (the first `on` of every `period`) of `length` bytes from offset 0. */
function onBytesOf(length: number, period: number, on: number): number {
  return Math.floor(length / period) * on + Math.min(length % period, on);
}

/**
 * False when `onBytes` bytes taken from an entry whose byte histogram (over the same stretch) is
 * `total` cannot look random (looksRandom): too few to judge, or a chi-square that must reach
 * RANDOM_CHI2_LIMIT — the bound of `noWindowLooksRandom`, for `onBytes / 256` expected per value.
 * Pure.
 */
function slotsCanLookRandom(total: ArrayLike<number>, onBytes: number): boolean {
  if (onBytes < MIN_CHI2_BYTES) return false;
  return !cannotLookRandom(total, onBytes);
}

/**
 * True when any `bytes` bytes drawn from an entry whose byte histogram is `total` have a
 * chi-square of at least RANDOM_CHI2_LIMIT (with a margin for rounding): a subset holds each byte
 * value at most as often as the whole does, so a value the entry holds `count` times, fewer than
 * the `bytes / 256` expected, leaves at least (expected − count)² / expected in the subset's
 * chi-square; the other values add something ≥ 0. Pure.
 */
function cannotLookRandom(total: ArrayLike<number>, bytes: number): boolean {
  const expected = bytes / 256;
  let bound = 0;
  for (let i = 0; i < 256; i++) {
    const missing = expected - total[i]!;
    if (missing > 0) bound += missing * missing;
  }
  return bound / expected >= RANDOM_CHI2_LIMIT + 1;
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}
