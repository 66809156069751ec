/**
 * TrueType and OpenType fonts (`\0\1\0\0`, `OTTO`, `true`): the table directory (a sane table
 * count, printable tags, every table inside the file) and each table's checksum — the sum of its
 * big-endian 32-bit words, `head` counted with its checkSumAdjustment as zero. Header-kept or
 * intermittent encryption garbles every table after the directory; fonts in the wild do carry a
 * wrong checksum or two (font tools that edit one table), so only a majority of failing tables is
 * damage. Font collections (`ttcf`) are `unsupported`.
 */
import type { StructureValidator, StructureVerdict, ValidatorDefinition } from '../validator.js';
import {
  Damage,
  guardedValidator,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const MAX_TABLES = 512;

interface Table {
  tag: string;
  checksum: number;
  offset: number;
  length: number;
  sum: number;
}

class FontWalk implements FormatWalk {
  private position = 0;
  private head: number[] = [];
  private tables: Table[] | null = null;
  /** Index into `tables` (by offset) of the table the bytes reach next. */
  private current = 0;

  constructor(private readonly size: number) {}

  update(chunk: Uint8Array): void {
    let i = 0;
    if (!this.tables) {
      for (; i < chunk.length && !this.tables; i++) {
        this.head.push(chunk[i]!);
        this.position++;
        if (this.head.length >= 12) this.tryDirectory();
      }
    }
    if (this.tables && i < chunk.length) this.sum(chunk, i);
  }

  finish(): StructureVerdict {
    if (!this.tables) throw new Damage('font ends inside its table directory', this.position);
    const tables = this.tables;
    const beyond = tables.find((table) => table.offset + table.length > this.position);
    if (beyond) throw new Damage(`font ends inside table '${beyond.tag}'`, this.position);
    const failed = tables.filter((table) => table.sum >>> 0 !== table.checksum);
    if (failed.length >= 2 && failed.length * 2 >= tables.length) {
      throw new Damage(
        `checksums of ${failed.length} of ${tables.length} font tables fail (${failed
          .slice(0, 4)
          .map((t) => t.tag.trim())
          .join(', ')}…)`,
        failed[0]!.offset,
      );
    }
    return {
      status: 'valid',
      checkedBytes: this.position,
      parts: tables.length,
      ...(failed.length
        ? {
            detail: `checksum of ${failed.map((t) => t.tag.trim()).join(', ')} fails (common in fonts edited by tools)`,
          }
        : {}),
    };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.position, { parts: this.tables?.length ?? 0 });
  }

  private tryDirectory(): void {
    const h = this.head;
    const count = (h[4]! << 8) | h[5]!;
    if (count === 0 || count > MAX_TABLES) throw new Damage(`font declares ${count} tables`, 4);
    const end = 12 + 16 * count;
    if (h.length < end) return;
    const u32 = (at: number) => ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0;
    const tables: Table[] = [];
    for (let n = 0; n < count; n++) {
      const at = 12 + 16 * n;
      const tag = String.fromCharCode(h[at]!, h[at + 1]!, h[at + 2]!, h[at + 3]!);
      if (!/^[\x20-\x7e]{4}$/.test(tag)) throw new Damage(`font table ${n + 1} has an unprintable tag`, at);
      const table = { tag, checksum: u32(at + 4), offset: u32(at + 8), length: u32(at + 12), sum: 0 };
      if (table.offset < end || table.offset + table.length > this.size)
        throw new Damage(`font table '${tag}' lies outside the file`, at + 8);
      tables.push(table);
    }
    tables.sort((a, b) => a.offset - b.offset);
    for (let n = 1; n < tables.length; n++) {
      if (tables[n]!.offset < tables[n - 1]!.offset + tables[n - 1]!.length)
        throw new Unsupported('font tables overlap');
    }
    this.tables = tables;
  }

  /** Adds `chunk[from..]` (entry offsets from `this.position`) to the checksums of the tables it covers. */
  private sum(chunk: Uint8Array, from: number): void {
    const tables = this.tables!;
    const base = this.position - from;
    this.position += chunk.length - from;
    for (let table = tables[this.current]; table; table = tables[++this.current]) {
      // Past its length a table is zero-padded to four bytes, which adds nothing.
      const start = Math.max(from, table.offset - base);
      const end = Math.min(chunk.length, table.offset + table.length - base);
      let sum = table.sum;
      for (let i = start; i < end; i++) {
        const within = i + base - table.offset;
        // head's checkSumAdjustment counts as zero.
        if (table.tag === 'head' && within >= 8 && within < 12) continue;
        sum += chunk[i]! * SHIFTS[within & 3]!;
        // Kept within 2^53: 64 Ki bytes add at most 2^48.
        if ((i & 0xffff) === 0xffff) sum %= 2 ** 32;
      }
      table.sum = sum % 2 ** 32;
      if (table.offset + table.length - base > chunk.length) return;
    }
  }
}

/** Weight of a byte by its place in a big-endian 32-bit word. */
const SHIFTS = [2 ** 24, 2 ** 16, 2 ** 8, 1];

/** TrueType (`\0\1\0\0`, `true`) and OpenType/CFF (`OTTO`) fonts, and collections (`ttcf`, unsupported). */
export const fontValidator: ValidatorDefinition = {
  type: 'font',
  matches(head: Uint8Array): boolean {
    if (head.length < 12) return false;
    const tag = Buffer.from(head.subarray(0, 4)).toString('latin1');
    const tables = (head[4]! << 8) | head[5]!;
    return (
      (tag === '\0\x01\0\0' || tag === 'OTTO' || tag === 'true' || tag === 'ttcf') &&
      (tag === 'ttcf' || (tables > 0 && tables <= MAX_TABLES))
    );
  },
  create(size: number): StructureValidator {
    return guardedValidator(new CollectionAware(size));
  },
};

/** A collection is not walked; anything else is. */
class CollectionAware implements FormatWalk {
  private readonly walk: FontWalk;
  private first = true;

  constructor(size: number) {
    this.walk = new FontWalk(size);
  }

  update(chunk: Uint8Array): void {
    if (this.first && chunk.length >= 4 && Buffer.from(chunk.subarray(0, 4)).toString('latin1') === 'ttcf')
      throw new Unsupported('font collections (ttcf) are not checked');
    this.first = false;
    this.walk.update(chunk);
  }

  finish(): StructureVerdict {
    return this.walk.finish();
  }

  stopped(stop: Stop): StructureVerdict {
    return this.walk.stopped(stop);
  }
}
