/**
 * SQLite database files (format 3): the 100-byte header (magic, page size, reserved bytes,
 * payload fractions, schema format, text encoding, zeroed reserved area), the file size (a
 * whole number of pages, equal to the header's page count when that count is valid), and every
 * page classified while streaming:
 *
 * - b-tree pages (types 2, 5, 10, 13; page 1's header after the file header) must be internally
 *   consistent as SQLite itself checks them — cell count, cell content area, freeblock chain,
 *   cell pointers and cell sizes within the page, child page numbers within the file — and each
 *   cell's record header must add up to its payload size;
 * - pointer-map pages (auto-vacuum) must hold valid entries; the lock-byte page is skipped;
 * - every other page must turn out, once the whole file is seen, to be a freelist trunk or leaf
 *   (reached from the header's freelist, which must count exactly the header's number of free
 *   pages) or an overflow page (reached from a cell's overflow chain, which must have exactly the
 *   length the cell's payload needs). A page that is none of these — random bytes, say — makes
 *   the file invalid.
 *
 * Freelist leaves hold whatever they held before, so damage inside them cannot be seen; b-tree
 * pages that are free (stale) impose no overflow obligations. Per page the validator keeps 5
 * bytes (the page's first 4 bytes and its class) up to MAX_TRACKED_PAGES pages; past that it
 * checks the pages it can still see and that unexplained pages are no more than free plus
 * overflow pages. WAL and rollback-journal files are other formats, not handled here.
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { u32be as readU32 } from './bytes.js';
import {
  Damage,
  guardedValidator,
  Malformed,
  stopVerdict,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_SIZE = 100;
/** 8 M pages (32 GiB of 4 KiB pages): 40 MB of tracking. Larger files get the count check only. */
const MAX_TRACKED_PAGES = 8 * 1024 * 1024;
/** Only the first few failure reasons are kept, to name them in the verdict. */
const MAX_REASONS = 64;
const LOCK_BYTE_OFFSET = 2 ** 30;

const enum PageClass {
  Unseen = 0,
  BTree = 1,
  /** Not a b-tree page: must turn out to be a freelist or overflow page. */
  Unexplained = 2,
  /** Pointer-map or lock-byte page. */
  Fixed = 3,
  Overflow = 4,
  Free = 5,
}

/** The database header fields the page checks need. */
interface Header {
  pageSize: number;
  usable: number;
  /** The page count the header vouches for, or null when its version-valid-for is stale. */
  pageCount: number | null;
  firstTrunk: number;
  freePages: number;
  autoVacuum: boolean;
}

/** Parses and checks the first 100 bytes; throws `Malformed` saying what is wrong. */
export function parseHeader(h: Uint8Array): Header {
  if (!MAGIC.equals(h.subarray(0, 16))) throw new Malformed('not an SQLite 3 database header');
  const raw = (h[16]! << 8) | h[17]!;
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
    throw new Malformed(`invalid page size ${raw}`);
  if (h[18]! < 1 || h[18]! > 2 || h[19]! < 1 || h[19]! > 2)
    throw new Malformed(`unknown file format versions ${h[18]}/${h[19]}`);
  const usable = pageSize - h[20]!;
  if (usable < 480)
    throw new Malformed(`${h[20]} reserved bytes leave too little of a ${pageSize}-byte page`);
  if (h[21] !== 64 || h[22] !== 32 || h[23] !== 32) throw new Malformed('payload fractions are not 64/32/32');
  const view = Buffer.from(h.buffer, h.byteOffset, HEADER_SIZE);
  const changeCounter = view.readUInt32BE(24);
  const headerPages = view.readUInt32BE(28);
  const validFor = view.readUInt32BE(92);
  const schemaFormat = view.readUInt32BE(44);
  if (schemaFormat > 4) throw new Malformed(`unknown schema format ${schemaFormat}`);
  const encoding = view.readUInt32BE(56);
  if (encoding > 3) throw new Malformed(`unknown text encoding ${encoding}`);
  for (let i = 72; i < 92; i++)
    if (h[i] !== 0) throw new Malformed('reserved header bytes 72–91 are not zero');
  return {
    pageSize,
    usable,
    pageCount: headerPages > 0 && validFor === changeCounter ? headerPages : null,
    firstTrunk: view.readUInt32BE(32),
    freePages: view.readUInt32BE(36),
    autoVacuum: view.readUInt32BE(52) !== 0,
  };
}

/** SQLite's variable-length integer at `at`: value (exact below 2^53) and length. */
function varint(page: Uint8Array, at: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = page[at + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return { value, length: i + 1 };
  }
  return { value: value * 256 + page[at + 8]!, length: 9 };
}

/** Content bytes of a record column by its serial type; -1 for the reserved types 10 and 11. */
function serialTypeSize(type: number): number {
  if (type < 12) return [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, -1, -1][type]!;
  return Math.floor((type - 12) / 2);
}

/** An overflow chain a cell needs: the first page and how many pages. */
interface OverflowNeed {
  first: number;
  pages: number;
}

/**
 * Checks one b-tree page as SQLite's btreeInitPage/btreeComputeFreeSpace/cell-size checks do,
 * plus record headers. Returns the overflow chains its cells need; throws `Malformed` saying what is wrong.
 */
export function checkBTreePage(
  page: Uint8Array,
  headerAt: number,
  usable: number,
  maxPage: number,
): OverflowNeed[] {
  const type = page[headerAt]!;
  const interior = type === 2 || type === 5;
  const table = type === 5 || type === 13;
  const headerSize = interior ? 12 : 8;
  const cellCount = (page[headerAt + 3]! << 8) | page[headerAt + 4]!;
  const top = (page[headerAt + 5]! << 8) | page[headerAt + 6]! || 65536;
  const pointersEnd = headerAt + headerSize + 2 * cellCount;
  if (cellCount > Math.floor((page.length - 8) / 6))
    throw new Malformed(`${cellCount} cells cannot fit a page`);
  if (top > usable || top < pointersEnd)
    throw new Malformed(`cell content area at ${top} is outside ${pointersEnd}..${usable}`);
  if (interior) {
    const right = readU32(page, headerAt + 8);
    if (right < 2 || right > maxPage) throw new Malformed(`right child page ${right} is outside the file`);
  }

  // Free space: the freeblock chain, in ascending order inside the content area.
  let free = page[headerAt + 7]! + top;
  let block = (page[headerAt + 1]! << 8) | page[headerAt + 2]!;
  if (block > 0) {
    if (block < top) throw new Malformed(`freeblock at ${block} is before the cell content area`);
    for (let blocks = 0; ; blocks++) {
      if (block > usable - 4 || blocks > usable / 4)
        throw new Malformed(`freeblock at ${block} is outside the page`);
      const next = (page[block]! << 8) | page[block + 1]!;
      const size = (page[block + 2]! << 8) | page[block + 3]!;
      free += size;
      if (next === 0) {
        if (block + size > usable) throw new Malformed(`freeblock at ${block} runs past the page`);
        break;
      }
      if (next <= block + size + 3)
        throw new Malformed(`freeblocks at ${block} and ${next} overlap or are out of order`);
      block = next;
    }
  }
  if (free > usable || free < pointersEnd) throw new Malformed('free space does not add up');

  // Cells: SQLite's maxLocal/minLocal payload split decides what is on the page.
  const maxLocal = table ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  const needs: OverflowNeed[] = [];
  for (let i = 0; i < cellCount; i++) {
    const cell = (page[headerAt + headerSize + 2 * i]! << 8) | page[headerAt + headerSize + 2 * i + 1]!;
    if (cell < top || cell > usable - 4)
      throw new Malformed(`cell ${i} pointer ${cell} is outside the cell content area`);
    let at = cell;
    if (interior) {
      const child = readU32(page, at);
      if (child < 2 || child > maxPage)
        throw new Malformed(`cell ${i} child page ${child} is outside the file`);
      at += 4;
    }
    if (type === 5) {
      const rowid = varint(page, at);
      if (at + rowid.length > usable) throw new Malformed(`cell ${i} runs past the page`);
      continue;
    }
    const payload = varint(page, at);
    at += payload.length;
    if (table) at += varint(page, at).length;
    const size = payload.value;
    let local = size;
    let overflow = 0;
    if (size > maxLocal) {
      const surplus = minLocal + ((size - minLocal) % (usable - 4));
      local = surplus <= maxLocal ? surplus : minLocal;
      overflow = Math.ceil((size - local) / (usable - 4));
    }
    const end = at + local + (overflow ? 4 : 0);
    if (end > usable) throw new Malformed(`cell ${i} runs past the page`);
    checkRecordHeader(page, at, local, size, i);
    if (overflow) {
      const first = readU32(page, at + local);
      if (first < 2 || first > maxPage)
        throw new Malformed(`cell ${i} overflow page ${first} is outside the file`);
      needs.push({ first, pages: overflow });
    }
  }
  return needs;
}

/** A record's header (its size, then serial types) must account for exactly the payload's size. */
function checkRecordHeader(
  page: Uint8Array,
  at: number,
  local: number,
  payloadSize: number,
  cell: number,
): void {
  if (payloadSize === 0) return;
  const headerLength = varint(page, at);
  if (headerLength.value < headerLength.length || headerLength.value > payloadSize)
    throw new Malformed(`cell ${cell} record header size ${headerLength.value} is impossible`);
  // A header that spills to overflow pages cannot be read here (only records with thousands of columns).
  if (headerLength.value > local) return;
  let content = 0;
  let offset = headerLength.length;
  while (offset < headerLength.value) {
    const type = varint(page, at + offset);
    offset += type.length;
    const size = serialTypeSize(type.value);
    if (size < 0) throw new Malformed(`cell ${cell} uses reserved serial type ${type.value}`);
    content += size;
  }
  if (offset !== headerLength.value || headerLength.value + content !== payloadSize) {
    throw new Malformed(
      `cell ${cell} record of ${payloadSize} bytes has a header describing ${headerLength.value + content}`,
    );
  }
}

/** Growable array of unsigned 32-bit numbers. */
class U32List {
  data = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
}

class SqliteValidator implements FormatWalk {
  private readonly page: Uint8Array = new Uint8Array(65536);
  private fill = 0;
  private position = 0;
  private header: Header | null = null;
  private pageNumber = 0;
  private maxPage = 0xffffffff;
  private lockBytePage = 0;

  // Per-page tracking (page numbers are 1-based; index 0 unused).
  private classes = new Uint8Array(1024);
  private firstWords = new Uint32Array(1024);
  private tracking = true;
  private unexplainedCount = 0;
  private btreePages = 0;
  /** Overflow obligations as (owner page, first page, page count) triples. */
  private readonly needs = new U32List();
  private overflowPagesNeeded = 0;
  private readonly trunks = new Map<number, Uint32Array>();
  private readonly reasons = new Map<number, string>();

  constructor(private readonly declaredSize: number) {}

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.header) {
        const take = Math.min(HEADER_SIZE - this.fill, chunk.length - at);
        this.page.set(chunk.subarray(at, at + take), this.fill);
        this.fill += take;
        this.position += take;
        at += take;
        if (this.fill === HEADER_SIZE) this.start();
        continue;
      }
      const size = this.header.pageSize;
      // Whole pages inside the chunk are checked in place; the rest goes through the page buffer.
      if (this.fill === 0 && chunk.length - at >= size) {
        this.position += size;
        this.pageDone(chunk.subarray(at, at + size));
        at += size;
        continue;
      }
      const take = Math.min(size - this.fill, chunk.length - at);
      this.page.set(chunk.subarray(at, at + take), this.fill);
      this.fill += take;
      this.position += take;
      at += take;
      if (this.fill === size) {
        this.fill = 0;
        this.pageDone(this.page.subarray(0, size));
      }
    }
  }

  finish(): StructureVerdict {
    this.finalChecks();
    return { status: 'valid', checkedBytes: this.position, parts: this.btreePages };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.position, { parts: this.btreePages });
  }

  private start(): void {
    let header: Header;
    try {
      header = parseHeader(this.page);
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      throw new Damage(error.message, 0, { cause: error });
    }
    this.header = header;
    if (header.pageCount !== null) this.maxPage = header.pageCount;
    else if (this.declaredSize > 0) this.maxPage = Math.floor(this.declaredSize / header.pageSize);
    this.lockBytePage = Math.floor(LOCK_BYTE_OFFSET / header.pageSize) + 1;
  }

  private pageDone(page: Uint8Array): void {
    const header = this.header!;
    const number = ++this.pageNumber;
    const offset = this.position - header.pageSize;
    if (number > this.maxPage)
      throw new Damage(`file goes on past the ${this.maxPage} pages its header counts`, offset);
    if (this.tracking && number >= this.classes.length) this.grow(number);
    if (this.tracking) this.firstWords[number] = readU32(page, 0);

    if (number === this.lockBytePage) return this.classify(number, PageClass.Fixed);
    if (header.autoVacuum && this.isPointerMapPage(number)) {
      this.checkPointerMap(page, number, offset);
      return this.classify(number, PageClass.Fixed);
    }
    const headerAt = number === 1 ? HEADER_SIZE : 0;
    const type = page[headerAt]!;
    let reason = `page ${number} is not a b-tree, freelist, overflow or pointer-map page`;
    if (type === 2 || type === 5 || type === 10 || type === 13) {
      let needs: OverflowNeed[] | null = null;
      try {
        needs = checkBTreePage(page, headerAt, header.usable, this.maxPage);
      } catch (error) {
        if (!(error instanceof Malformed)) throw error;
        reason = `page ${number} is a damaged b-tree page: ${error.message}`;
      }
      if (needs) {
        this.btreePages += 1;
        this.classify(number, PageClass.BTree);
        for (const need of needs) {
          this.overflowPagesNeeded += need.pages;
          if (this.tracking) {
            this.needs.push(number);
            this.needs.push(need.first);
            this.needs.push(need.pages);
          }
        }
        return;
      }
    }
    // Page 1 is always the schema table's root: it cannot be free or overflow.
    if (number === 1)
      throw new Damage(type === 5 || type === 13 ? reason : 'page 1 is not the schema b-tree', headerAt);
    this.unexplainedCount += 1;
    this.classify(number, PageClass.Unexplained);
    if (this.reasons.size < MAX_REASONS) this.reasons.set(number, reason);
    if (this.tracking) this.rememberTrunk(page, number);
  }

  private classify(number: number, pageClass: PageClass): void {
    if (this.tracking) this.classes[number] = pageClass;
  }

  private grow(number: number): void {
    if (number > MAX_TRACKED_PAGES) {
      this.tracking = false;
      this.classes = new Uint8Array(0);
      this.firstWords = new Uint32Array(0);
      this.trunks.clear();
      return;
    }
    const size = Math.min(MAX_TRACKED_PAGES + 1, Math.max(number + 1, this.classes.length * 2));
    const classes = new Uint8Array(size);
    classes.set(this.classes);
    const words = new Uint32Array(size);
    words.set(this.firstWords);
    this.classes = classes;
    this.firstWords = words;
  }

  /** Keeps the leaf list of a page that could be a freelist trunk (its layout is plausible). */
  private rememberTrunk(page: Uint8Array, number: number): void {
    const usable = this.header!.usable;
    const leaves = readU32(page, 4);
    if (leaves > usable / 4 - 2 || readU32(page, 0) > this.maxPage) return;
    const list = new Uint32Array(leaves);
    for (let i = 0; i < leaves; i++) {
      const leaf = readU32(page, 8 + 4 * i);
      if (leaf < 2 || leaf > this.maxPage) return;
      list[i] = leaf;
    }
    this.trunks.set(number, list);
  }

  /** SQLite's ptrmapPageno: pointer-map pages recur every usable/5 + 1 pages from page 2, skipping the lock-byte page. */
  private isPointerMapPage(number: number): boolean {
    if (number < 2) return false;
    const perMap = Math.floor(this.header!.usable / 5) + 1;
    let map = Math.floor((number - 2) / perMap) * perMap + 2;
    if (map === this.lockBytePage) map++;
    return map === number;
  }

  private checkPointerMap(page: Uint8Array, number: number, offset: number): void {
    const entries = Math.floor(this.header!.usable / 5);
    for (let i = 0; i < entries; i++) {
      const covered = number + 1 + i;
      if (covered > this.maxPage) break;
      const type = page[5 * i]!;
      const parent = readU32(page, 5 * i + 1);
      if (type < 1 || type > 5 || parent > this.maxPage || ((type === 1 || type === 2) && parent !== 0)) {
        throw new Damage(`pointer-map page ${number} has a bad entry for page ${covered}`, offset + 5 * i);
      }
    }
  }

  private finalChecks(): void {
    const header = this.header;
    if (!header)
      throw new Damage(
        this.position === 0 ? 'empty file' : 'file ends inside the database header',
        this.position,
      );
    if (this.fill !== 0)
      throw new Damage(
        `file of ${this.position} bytes is not a whole number of ${header.pageSize}-byte pages`,
        this.position,
      );
    const pages = this.pageNumber;
    if (pages === 0) throw new Damage('file ends inside page 1', this.position);
    if (header.pageCount !== null && pages !== header.pageCount)
      throw new Damage(`file has ${pages} pages, its header says ${header.pageCount}`, this.position);
    this.maxPage = pages;
    if (!this.tracking) {
      if (this.unexplainedCount > header.freePages + this.overflowPagesNeeded) {
        throw new Damage(
          `${this.unexplainedCount} pages are not b-tree pages, more than the ${header.freePages} free and ${this.overflowPagesNeeded} overflow pages`,
          this.position,
        );
      }
      return;
    }
    this.walkFreelist(header);
    this.walkOverflowChains();
    for (let number = 1; number <= pages; number++) {
      if (this.classes[number] === PageClass.Unexplained) {
        throw new Damage(
          this.reasons.get(number) ??
            `page ${number} is not a b-tree, freelist, overflow or pointer-map page`,
          (number - 1) * header.pageSize,
        );
      }
    }
  }

  private walkFreelist(header: Header): void {
    let trunk = header.firstTrunk;
    let counted = 0;
    while (trunk !== 0) {
      const leaves = this.trunks.get(trunk);
      if (trunk > this.maxPage || this.classes[trunk] !== PageClass.Unexplained || !leaves) {
        throw new Damage(
          `freelist trunk page ${trunk} is not a freelist trunk page`,
          trunk <= this.maxPage ? (trunk - 1) * header.pageSize : this.position,
        );
      }
      this.classes[trunk] = PageClass.Free;
      counted += 1 + leaves.length;
      if (counted > header.freePages)
        throw new Damage(
          `freelist holds more than the ${header.freePages} pages the header counts`,
          (trunk - 1) * header.pageSize,
        );
      for (const leaf of leaves) {
        const leafClass = this.classes[leaf];
        if (
          leaf > this.maxPage ||
          leafClass === PageClass.Free ||
          leafClass === PageClass.Fixed ||
          leaf === 1
        ) {
          throw new Damage(
            `freelist leaf page ${leaf} is not a page that can be free`,
            (trunk - 1) * header.pageSize,
          );
        }
        this.classes[leaf] = PageClass.Free;
      }
      trunk = this.firstWords[trunk]!;
    }
    if (counted !== header.freePages)
      throw new Damage(`freelist holds ${counted} pages, the header counts ${header.freePages}`, 32);
  }

  private walkOverflowChains(): void {
    const { data, length } = this.needs;
    const pageSize = this.header!.pageSize;
    for (let i = 0; i < length; i += 3) {
      const owner = data[i]!;
      // A free page's cells are stale: the chains they name may have been reused.
      if (this.classes[owner] === PageClass.Free) continue;
      let page = data[i + 1]!;
      const count = data[i + 2]!;
      for (let n = 1; n <= count; n++) {
        if (page < 2 || page > this.maxPage || this.classes[page] !== PageClass.Unexplained) {
          throw new Damage(
            `overflow page ${page} of a cell on page ${owner} is not an overflow page`,
            (owner - 1) * pageSize,
          );
        }
        this.classes[page] = PageClass.Overflow;
        const next = this.firstWords[page]!;
        if (n === count && next !== 0)
          throw new Damage(
            `overflow chain of a cell on page ${owner} is longer than its payload`,
            (page - 1) * pageSize,
          );
        page = next;
      }
    }
  }
}

export const sqliteValidator: ValidatorDefinition = {
  type: 'sqlite',
  matches(head: Uint8Array): boolean {
    return head.length >= 16 && MAGIC.equals(head.subarray(0, 16));
  },
  create(size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new SqliteValidator(size));
  },
};
