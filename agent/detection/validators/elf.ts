/**
 * ELF (32/64-bit, either byte order): the identification bytes, the file header's fields and
 * table geometry, the program headers (inside the file, PT_LOAD in address order with
 * consistent alignment and sizes), the section headers (inside the file, known types and flags,
 * links to existing sections), the section-name string table, and the contents of the sections
 * that have a grammar, wherever the validator still holds their bytes: string tables, symbol
 * tables (names inside their string table, valid bindings, types and section indices),
 * relocations (symbol indices inside their symbol table), notes, the dynamic section, hash
 * tables, symbol versions, and .eh_frame's CIE/FDE chain.
 *
 * Bounded state: the first and last MAX_HEAD_BYTES / MAX_TAIL_BYTES bytes are kept, plus the
 * header tables and the dynamic, note and interpreter segments wherever they are. Section
 * contents outside those bytes are not checked (in files over 2 MiB the middle sections are
 * skipped). Machine code and data (.text, .rodata, .data) have no grammar: encryption confined
 * to them is left to the statistics layer.
 */
import { isUtf8 } from 'node:buffer';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

const MAX_HEAD_BYTES = 1024 * 1024;
/** Equal to MAX_HEAD_BYTES: the tail ring starts as a copy of the head (see appendTail). */
const MAX_TAIL_BYTES = MAX_HEAD_BYTES;
/** The head buffer's first size; it doubles as bytes come, up to MAX_HEAD_BYTES. */
const FIRST_HEAD_BYTES = 64 * 1024;
/** Header tables and segments captured from the middle of the file are kept up to this size each. */
const MAX_CAPTURE_BYTES = 1024 * 1024;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;

const SHT_NULL = 0;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_RELA = 4;
const SHT_HASH = 5;
const SHT_DYNAMIC = 6;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_REL = 9;
const SHT_DYNSYM = 11;
const SHT_GNU_HASH = 0x6ffffff6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const SHF_COMPRESSED = 0x800;
/** Flag bits no ABI defines (bit 3 and bits 12–19). */
const SHF_UNDEFINED_BITS = 0x000ff008;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;

/** Field reader for one class and byte order. */
class Fields {
  constructor(
    readonly is64: boolean,
    readonly little: boolean,
  ) {}

  u8(b: Uint8Array, at: number): number {
    return b[at]!;
  }

  u16(b: Uint8Array, at: number): number {
    return this.little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
  }

  u32(b: Uint8Array, at: number): number {
    return (
      (this.little
        ? b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)
        : (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
    );
  }

  /** A 64-bit field as a Number (exact below 2^53; larger values only ever fail range checks). */
  u64(b: Uint8Array, at: number): number {
    const low = this.u32(b, this.little ? at : at + 4);
    const high = this.u32(b, this.little ? at + 4 : at);
    return high * 2 ** 32 + low;
  }

  /** An address-sized field. */
  addr(b: Uint8Array, at: number): number {
    return this.is64 ? this.u64(b, at) : this.u32(b, at);
  }
}

interface FileHeader {
  f: Fields;
  type: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

interface Section {
  index: number;
  name: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

/** Parses the identification and file header from the first 64 (or 52) bytes; throws Damage. */
function parseFileHeader(h: Uint8Array): FileHeader {
  if (h[0] !== 0x7f || h[1] !== 0x45 || h[2] !== 0x4c || h[3] !== 0x46) throw new Damage('no ELF magic', 0);
  if (h[4] !== 1 && h[4] !== 2) throw new Damage(`unknown ELF class ${h[4]}`, 4);
  if (h[5] !== 1 && h[5] !== 2) throw new Damage(`unknown ELF byte order ${h[5]}`, 5);
  if (h[6] !== 1) throw new Damage(`unknown ELF identification version ${h[6]}`, 6);
  for (let i = 9; i < 16; i++) if (h[i] !== 0) throw new Damage('identification padding is not zero', i);
  const f = new Fields(h[4] === 2, h[5] === 1);
  const type = f.u16(h, 16);
  if (type > 4 && type < 0xfe00) throw new Damage(`unknown object file type ${type}`, 16);
  if (f.u32(h, 20) !== 1) throw new Damage('file header version is not 1', 20);
  const at = f.is64 ? 32 : 28;
  const word = f.is64 ? 8 : 4;
  const phoff = f.addr(h, at);
  const shoff = f.addr(h, at + word);
  const rest = at + 2 * word + 4; // after e_flags
  const ehsize = f.u16(h, rest);
  if (ehsize !== (f.is64 ? 64 : 52))
    throw new Damage(`file header size ${ehsize} is wrong for the class`, rest);
  const header: FileHeader = {
    f,
    type,
    phoff,
    phentsize: f.u16(h, rest + 2),
    phnum: f.u16(h, rest + 4),
    shoff,
    shentsize: f.u16(h, rest + 6),
    shnum: f.u16(h, rest + 8),
    shstrndx: f.u16(h, rest + 10),
  };
  if (header.phnum > 0 && header.phentsize !== (f.is64 ? 56 : 32))
    throw new Damage(`program header entry size ${header.phentsize} is wrong`, rest + 2);
  if ((header.shnum > 0 || header.shoff > 0) && header.shentsize !== (f.is64 ? 64 : 40))
    throw new Damage(`section header entry size ${header.shentsize} is wrong`, rest + 6);
  if (header.shoff === 0 && (header.shnum !== 0 || header.shstrndx !== 0))
    throw new Damage('section headers counted but not placed', rest + 8);
  return header;
}

/** A byte range being copied out of the stream. */
interface Capture {
  start: number;
  end: number;
  data: Uint8Array;
}

class ElfValidator implements FormatWalk {
  /**
   * The first bytes (up to MAX_HEAD_BYTES), in a buffer that grows as they come: most ELF files
   * are small, and allocating 2 MiB per file cost more than validating it.
   */
  private head = new Uint8Array(FIRST_HEAD_BYTES);
  private headFill = 0;
  /**
   * A ring of the last MAX_TAIL_BYTES bytes: byte `i` of the file is at `i % MAX_TAIL_BYTES`
   * while it is among them. Made only once the file outgrows the head (until then the head
   * holds every byte).
   */
  private tail: Uint8Array | null = null;
  /** The first byte the ring received: bytes before it were never copied there. */
  private tailStart = 0;
  private position = 0;
  private readonly captures: Capture[] = [];
  private header: FileHeader | null = null;
  private segmentsRequested = false;
  private parts = 0;

  /**
   * `size` is the declared size: chunks that end before its last MAX_TAIL_BYTES are not copied
   * into the tail ring (for a large binary that was every byte). Were the stream shorter than
   * declared, the bytes the ring lacks are simply not checked (see fromTail).
   */
  constructor(private readonly size: number) {}

  update(chunk: Uint8Array): void {
    const start = this.position;
    if (this.headFill < MAX_HEAD_BYTES) {
      const take = Math.min(MAX_HEAD_BYTES - this.headFill, chunk.length);
      if (this.headFill + take > this.head.length) {
        let capacity = this.head.length;
        while (capacity < this.headFill + take) capacity *= 2;
        const grown = new Uint8Array(Math.min(capacity, MAX_HEAD_BYTES));
        grown.set(this.head.subarray(0, this.headFill));
        this.head = grown;
      }
      this.head.set(chunk.subarray(0, take), this.headFill);
      this.headFill += take;
    }
    // Ranges are requested before this chunk is copied out, so where chunks break does not matter.
    const headerSize = this.headFill >= 5 && this.head[4] === 2 ? 64 : 52;
    if (!this.header && this.headFill >= headerSize) {
      this.header = parseFileHeader(this.head);
      this.capture(this.header.phoff, this.header.phnum * this.header.phentsize);
      this.capture(this.header.shoff, this.header.shnum * this.header.shentsize);
    }
    if (this.header && !this.segmentsRequested) {
      const { phoff, phnum, phentsize } = this.header;
      if (phoff + phnum * phentsize <= this.headFill)
        this.requestSegments(this.head.subarray(phoff, phoff + phnum * phentsize));
    }
    this.appendTail(chunk);
    for (const capture of this.captures) {
      const from = Math.max(capture.start, start);
      const to = Math.min(capture.end, start + chunk.length);
      if (from < to) capture.data.set(chunk.subarray(from - start, to - start), from - capture.start);
    }
    this.position += chunk.length;
    if (this.header && !this.segmentsRequested) {
      const table = this.bytes(this.header.phoff, this.header.phnum * this.header.phentsize);
      if (table) this.requestSegments(table);
    }
  }

  finish(): StructureVerdict {
    this.checkAll();
    return { status: 'valid', checkedBytes: this.position, parts: this.parts };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.position, { parts: this.parts });
  }

  private appendTail(chunk: Uint8Array): void {
    if (this.position + chunk.length <= this.size - MAX_TAIL_BYTES) return;
    if (!this.tail) {
      if (this.position + chunk.length <= MAX_HEAD_BYTES) return;
      this.tail = new Uint8Array(MAX_TAIL_BYTES);
      // Every byte so far is in the head, at its own index, unless chunks were skipped above.
      if (this.position <= MAX_HEAD_BYTES) this.tail.set(this.head.subarray(0, this.position));
      else this.tailStart = this.position;
    }
    const piece = chunk.length > MAX_TAIL_BYTES ? chunk.subarray(chunk.length - MAX_TAIL_BYTES) : chunk;
    const at = (this.position + chunk.length - piece.length) % MAX_TAIL_BYTES;
    const first = Math.min(piece.length, MAX_TAIL_BYTES - at);
    this.tail.set(piece.subarray(0, first), at);
    this.tail.set(piece.subarray(first), 0);
  }

  /** Bytes [start, end) from the tail ring, if they are all still in it. */
  private fromTail(start: number, end: number): Uint8Array | null {
    if (!this.tail || start < this.position - MAX_TAIL_BYTES || start < this.tailStart) return null;
    const out = new Uint8Array(end - start);
    const at = start % MAX_TAIL_BYTES;
    const first = Math.min(out.length, MAX_TAIL_BYTES - at);
    out.set(this.tail.subarray(at, at + first), 0);
    out.set(this.tail.subarray(0, out.length - first), first);
    return out;
  }

  /** Starts copying [start, start + length) out of the stream, if it is still ahead and not too long. */
  private capture(start: number, length: number): void {
    if (
      length <= 0 ||
      length > MAX_CAPTURE_BYTES ||
      start + length <= MAX_HEAD_BYTES ||
      start < this.position
    )
      return;
    this.captures.push({ start, end: start + length, data: new Uint8Array(length) });
  }

  /** The program headers are known: capture the dynamic, interpreter and note segments too. */
  private requestSegments(table: Uint8Array): void {
    this.segmentsRequested = true;
    const { f, phnum, phentsize } = this.header!;
    for (let i = 0; i < phnum; i++) {
      const ph = table.subarray(i * phentsize);
      const type = f.u32(ph, 0);
      if (type !== PT_DYNAMIC && type !== PT_INTERP && type !== PT_NOTE) continue;
      const offset = f.is64 ? f.u64(ph, 8) : f.u32(ph, 4);
      const size = f.is64 ? f.u64(ph, 32) : f.u32(ph, 16);
      this.capture(offset, size);
    }
  }

  /** The file's bytes [start, start + length) if the validator holds them all, else null. */
  private bytes(start: number, length: number): Uint8Array | null {
    const end = start + length;
    if (end > this.position || start < 0 || length < 0) return null;
    if (end <= this.headFill) return this.head.subarray(start, end);
    const tail = this.fromTail(start, end);
    if (tail) return tail;
    for (const capture of this.captures) {
      if (start >= capture.start && end <= capture.end && capture.end <= this.position)
        return capture.data.subarray(start - capture.start, end - capture.start);
    }
    return null;
  }

  private checkAll(): void {
    const size = this.position;
    if (!this.header) throw new Damage(size === 0 ? 'empty file' : 'file ends inside the ELF header', size);
    const header = this.header;
    const { f } = header;
    this.checkTableGeometry(header, size);
    const programs = this.bytes(header.phoff, header.phnum * header.phentsize);
    if (programs) this.checkProgramHeaders(programs, size);
    if (header.shoff === 0) return;
    const table = this.bytes(header.shoff, header.shnum * header.shentsize);
    if (!table) return;
    const sections = this.readSections(table, header);
    const count = sections.length;
    const names = this.sectionNames(sections, header);
    for (const section of sections) {
      this.checkSectionHeader(section, count, size, header.shoff + section.index * header.shentsize);
      this.parts += 1;
    }
    for (const section of sections) {
      if (section.type === SHT_NOBITS || section.type === SHT_NULL || section.flags & SHF_COMPRESSED)
        continue;
      const content = this.bytes(section.offset, section.size);
      if (!content) continue;
      this.checkContent(section, content, sections, names?.(section.name) ?? '', f);
    }
  }

  private checkTableGeometry(header: FileHeader, size: number): void {
    if (header.phnum > 0 && header.phoff + header.phnum * header.phentsize > size)
      throw new Damage('program header table runs past the end of the file', header.phoff);
    if (header.shoff > 0 && header.shoff + Math.max(1, header.shnum) * header.shentsize > size)
      throw new Damage('section header table runs past the end of the file', header.shoff);
  }

  private checkProgramHeaders(table: Uint8Array, size: number): void {
    const { f, phnum, phentsize, phoff } = this.header!;
    let lastLoad = -1;
    for (let i = 0; i < phnum; i++) {
      const ph = table.subarray(i * phentsize);
      const at = phoff + i * phentsize;
      const type = f.u32(ph, 0);
      const offset = f.is64 ? f.u64(ph, 8) : f.u32(ph, 4);
      const vaddr = f.is64 ? f.u64(ph, 16) : f.u32(ph, 8);
      const filesz = f.is64 ? f.u64(ph, 32) : f.u32(ph, 16);
      const memsz = f.is64 ? f.u64(ph, 40) : f.u32(ph, 20);
      const flags = f.is64 ? f.u32(ph, 4) : f.u32(ph, 24);
      const align = f.is64 ? f.u64(ph, 48) : f.u32(ph, 28);
      if (type > 8 && type < 0x60000000)
        throw new Damage(`program header ${i} has unknown type 0x${type.toString(16)}`, at);
      // OS-specific segments (PaX flags, say) use the flag bits their own way.
      if (type <= 8 && (flags & 0x000ffff8) !== 0)
        throw new Damage(`program header ${i} has undefined flag bits`, at);
      if (filesz > 0 && offset + filesz > size)
        throw new Damage(`program header ${i} segment runs past the end of the file`, at);
      if (align > 1 && (align & (align - 1)) !== 0 && align < 2 ** 32)
        throw new Damage(`program header ${i} alignment ${align} is not a power of two`, at);
      if (type === PT_LOAD) {
        if (filesz > memsz)
          throw new Damage(`loadable segment ${i} is larger in the file than in memory`, at);
        if (align > 1 && align < 2 ** 32 && offset % align !== vaddr % align)
          throw new Damage(`loadable segment ${i} offset and address disagree modulo its alignment`, at);
        if (vaddr < lastLoad) throw new Damage(`loadable segment ${i} is out of address order`, at);
        lastLoad = vaddr;
      }
      if (type === PT_INTERP && filesz > 0) {
        const path = this.bytes(offset, filesz);
        if (path && !isPrintableString(path))
          throw new Damage('interpreter path is not a printable string', offset);
      }
    }
  }

  private readSections(table: Uint8Array, header: FileHeader): Section[] {
    const { f, shentsize } = header;
    const read = (index: number): Section => {
      const s = table.subarray(index * shentsize);
      const word = f.is64 ? 8 : 4;
      return {
        index,
        name: f.u32(s, 0),
        type: f.u32(s, 4),
        flags: f.addr(s, 8),
        offset: f.addr(s, 8 + 2 * word),
        size: f.addr(s, 8 + 3 * word),
        link: f.u32(s, 8 + 4 * word),
        info: f.u32(s, 12 + 4 * word),
        align: f.addr(s, 16 + 4 * word),
        entsize: f.addr(s, 16 + 5 * word),
      };
    };
    const first = read(0);
    // Extended numbering: section 0 holds the real count and name-table index when they overflow 16 bits.
    const count = header.shnum === 0 ? first.size : header.shnum;
    if (count * shentsize > table.length) {
      const full = this.bytes(header.shoff, count * shentsize);
      if (!full) return [];
      return this.readSections(full, { ...header, shnum: count });
    }
    if (first.type !== SHT_NULL || first.name !== 0 || first.flags !== 0 || first.offset !== 0)
      throw new Damage('section 0 is not the null section', header.shoff);
    return Array.from({ length: count }, (_, i) => (i === 0 ? first : read(i)));
  }

  /** The name lookup of the section-name table, checked; null when its bytes are not held. */
  private sectionNames(sections: Section[], header: FileHeader): ((name: number) => string) | null {
    const index = header.shstrndx === SHN_XINDEX ? sections[0]!.link : header.shstrndx;
    if (index === 0) return null;
    const table = sections[index];
    if (!table || table.type !== SHT_STRTAB)
      throw new Damage(`section-name table index ${index} is not a string table`, header.shoff);
    const bytes = this.bytes(table.offset, table.size);
    if (!bytes) return null;
    checkStringTable(bytes, table.offset, 'section-name table');
    for (const section of sections) {
      if (section.name >= bytes.length && section.index !== 0)
        throw new Damage(
          `section ${section.index} name is outside the section-name table`,
          header.shoff + section.index * header.shentsize,
        );
    }
    return (name) => {
      const end = bytes.indexOf(0, name);
      return Buffer.from(bytes.subarray(name, end < 0 ? bytes.length : end)).toString('latin1');
    };
  }

  private checkSectionHeader(section: Section, count: number, size: number, at: number): void {
    const { index, type, flags } = section;
    if (index === 0) return;
    if (type > 19 && type < 0x60000000)
      throw new Damage(`section ${index} has unknown type 0x${type.toString(16)}`, at);
    if (flags & SHF_UNDEFINED_BITS || flags >= 2 ** 32)
      throw new Damage(`section ${index} has undefined flag bits`, at);
    if (type !== SHT_NOBITS && section.size > 0 && section.offset + section.size > size)
      throw new Damage(`section ${index} runs past the end of the file`, at);
    if (section.align > 1 && (section.align & (section.align - 1)) !== 0 && section.align < 2 ** 32)
      throw new Damage(`section ${index} alignment ${section.align} is not a power of two`, at);
    if (section.link >= count && type !== SHT_NULL)
      throw new Damage(`section ${index} links to section ${section.link}, which does not exist`, at);
  }

  private checkContent(
    section: Section,
    content: Uint8Array,
    sections: Section[],
    name: string,
    f: Fields,
  ): void {
    const at = section.offset;
    const linked = sections[section.link];
    switch (section.type) {
      case SHT_STRTAB:
        return checkStringTable(content, at, `string table ${name || section.index}`);
      case SHT_SYMTAB:
      case SHT_DYNSYM:
        return this.checkSymbols(section, content, linked, sections.length, f);
      case SHT_REL:
      case SHT_RELA:
        return this.checkRelocations(section, content, linked, f);
      case SHT_NOTE:
        return checkNotes(content, at, f, section.align === 8 ? 8 : 4);
      case SHT_DYNAMIC:
        return checkDynamic(content, at, f);
      case SHT_HASH: {
        if (content.length < 8) throw new Damage('hash table is too short', at);
        const words = f.u32(content, 0) + f.u32(content, 4) + 2;
        if (words * 4 !== content.length && section.entsize !== 8)
          throw new Damage('hash table size does not match its bucket and chain counts', at);
        return;
      }
      case SHT_GNU_HASH: {
        if (content.length < 16) throw new Damage('GNU hash table is too short', at);
        const bloom = f.u32(content, 8);
        const shift = f.u32(content, 12);
        if (bloom === 0 || (bloom & (bloom - 1)) !== 0 || shift >= 64)
          throw new Damage('GNU hash table header is malformed', at);
        return;
      }
      case SHT_GNU_VERSYM:
        for (let i = 2; i + 2 <= content.length; i += 2) {
          if ((f.u16(content, i) & 0x7fff) > 0x1000)
            throw new Damage('symbol version index out of range', at + i);
        }
        return;
      case SHT_GNU_VERNEED:
        return this.checkVersionNeeds(section, content, linked, f);
      default:
        if (name === '.eh_frame') return checkEhFrame(content, at, f);
        if (name === '.interp' || name === '.comment') return checkStringTable(content, at, name, false);
    }
  }

  private checkSymbols(
    section: Section,
    content: Uint8Array,
    strings: Section | undefined,
    sectionCount: number,
    f: Fields,
  ): void {
    const entry = f.is64 ? 24 : 16;
    const at = section.offset;
    if (content.length % entry !== 0)
      throw new Damage('symbol table size is not a whole number of symbols', at);
    const stringsSize = strings?.type === SHT_STRTAB ? strings.size : 0;
    for (let i = 0; i < content.length; i += entry) {
      const name = f.u32(content, i);
      const info = content[i + (f.is64 ? 4 : 12)]!;
      const shndx = f.u16(content, i + (f.is64 ? 6 : 14));
      const bind = info >> 4;
      const type = info & 15;
      if (i === 0) {
        if (name !== 0 || info !== 0 || shndx !== 0) throw new Damage('symbol 0 is not the null symbol', at);
        continue;
      }
      if (name >= stringsSize && stringsSize > 0)
        throw new Damage(`symbol ${i / entry} name is outside its string table`, at + i);
      if ((bind > 2 && bind < 10) || (type > 6 && type < 10))
        throw new Damage(`symbol ${i / entry} has an undefined binding or type`, at + i);
      if (shndx >= sectionCount && shndx < SHN_LORESERVE)
        throw new Damage(`symbol ${i / entry} is in section ${shndx}, which does not exist`, at + i);
    }
  }

  private checkRelocations(
    section: Section,
    content: Uint8Array,
    symbols: Section | undefined,
    f: Fields,
  ): void {
    const entry = (section.type === SHT_RELA ? 3 : 2) * (f.is64 ? 8 : 4);
    const at = section.offset;
    if (content.length % entry !== 0)
      throw new Damage('relocation section size is not a whole number of entries', at);
    if (!symbols || (symbols.type !== SHT_SYMTAB && symbols.type !== SHT_DYNSYM) || section.link === 0)
      return;
    const symbolCount = Math.floor(symbols.size / (f.is64 ? 24 : 16));
    for (let i = 0; i < content.length; i += entry) {
      const info = f.is64 ? f.u32(content, i + (f.little ? 12 : 8)) : f.u32(content, i + 4) >>> 8;
      if (info >= symbolCount)
        throw new Damage(`relocation ${i / entry} names symbol ${info} of ${symbolCount}`, at + i);
    }
  }

  private checkVersionNeeds(
    section: Section,
    content: Uint8Array,
    strings: Section | undefined,
    f: Fields,
  ): void {
    const at = section.offset;
    const stringsSize = strings?.size ?? Infinity;
    let offset = 0;
    for (let n = 0; n < section.info; n++) {
      if (offset + 16 > content.length) throw new Damage('version needs run past their section', at + offset);
      if (f.u16(content, offset) !== 1) throw new Damage('version need has an unknown version', at + offset);
      const auxCount = f.u16(content, offset + 2);
      if (f.u32(content, offset + 4) >= stringsSize)
        throw new Damage('version need file name is outside its string table', at + offset);
      let aux = offset + f.u32(content, offset + 8);
      for (let a = 0; a < auxCount; a++) {
        if (aux + 16 > content.length)
          throw new Damage('version need entries run past their section', at + aux);
        if (f.u32(content, aux + 8) >= stringsSize)
          throw new Damage('version name is outside its string table', at + aux);
        const next = f.u32(content, aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = f.u32(content, offset + 12);
      if (next === 0) break;
      offset += next;
    }
  }
}

/** Bytes allowed in names: printable ASCII, tab, and UTF-8 (checked separately). */
function isNameByte(byte: number): boolean {
  return byte >= 0x20 ? byte !== 0x7f : byte === 0x09;
}

function isPrintableString(bytes: Uint8Array): boolean {
  const end = bytes.indexOf(0);
  const text = bytes.subarray(0, end < 0 ? bytes.length : end);
  return text.every(isNameByte) && isUtf8(text);
}

/** A string table: NUL-separated printable UTF-8 strings, starting (when `strict`) and ending with NUL. */
function checkStringTable(bytes: Uint8Array, at: number, what: string, strict = true): void {
  if (bytes.length === 0) return;
  if (strict && (bytes[0] !== 0 || bytes[bytes.length - 1] !== 0))
    throw new Damage(`${what} does not start and end with NUL`, at);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte !== 0 && !isNameByte(byte)) throw new Damage(`${what} holds a control byte`, at + i);
  }
  if (!isUtf8(bytes)) throw new Damage(`${what} is not valid UTF-8`, at);
}

/** Notes: (namesz, descsz, type, name, desc) records, padded to `align`, exactly filling the section. */
function checkNotes(bytes: Uint8Array, at: number, f: Fields, align: number): void {
  const pad = (n: number): number => Math.ceil(n / align) * align;
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) throw new Damage('note header runs past its section', at + offset);
    const nameSize = f.u32(bytes, offset);
    const descSize = f.u32(bytes, offset + 4);
    // Names are not always text (annobin's carry binary values), so only the sizes are walked.
    offset += 12 + pad(nameSize) + pad(descSize);
    if (offset > bytes.length + (align - 1)) throw new Damage('note runs past its section', at + offset);
  }
}

/** Tags of the dynamic section: the generic range, the OS range and the processor range. */
function isDynamicTag(tag: number): boolean {
  return tag <= 40 || (tag >= 0x6000000d && tag < 0x80000000);
}

/** The dynamic section: known tags up to DT_NULL, then only DT_NULL padding. */
function checkDynamic(bytes: Uint8Array, at: number, f: Fields): void {
  const entry = f.is64 ? 16 : 8;
  let ended = false;
  for (let i = 0; i + entry <= bytes.length; i += entry) {
    const tag = f.addr(bytes, i);
    if (ended) {
      if (tag !== 0) throw new Damage('dynamic entries after DT_NULL', at + i);
      continue;
    }
    if (!isDynamicTag(tag)) throw new Damage(`unknown dynamic tag 0x${tag.toString(16)}`, at + i);
    if (tag === 0) ended = true;
  }
  if (!ended && bytes.length >= entry) throw new Damage('dynamic section has no DT_NULL', at);
}

/** .eh_frame: length-prefixed CIE and FDE records chaining exactly to the end (or a zero terminator). */
function checkEhFrame(bytes: Uint8Array, at: number, f: Fields): void {
  const cies = new Set<number>();
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const length = f.u32(bytes, offset);
    if (length === 0) return;
    if (length === 0xffffffff) return; // 64-bit DWARF records: rare, not walked
    const body = offset + 4;
    const end = body + length;
    if (end > bytes.length) throw new Damage('.eh_frame record runs past its section', at + offset);
    const id = f.u32(bytes, body);
    if (id === 0) {
      const version = bytes[body + 4]!;
      if (version !== 1 && version !== 3 && version !== 4)
        throw new Damage(`.eh_frame CIE has unknown version ${version}`, at + offset);
      cies.add(offset);
    } else if (!cies.has(body - id)) {
      throw new Damage('.eh_frame FDE does not point at a CIE', at + offset);
    }
    offset = end;
  }
  if (offset !== bytes.length && !bytes.subarray(offset).every((byte) => byte === 0))
    throw new Damage('.eh_frame records do not fill their section', at + offset);
}

export const elfValidator: ValidatorDefinition = {
  type: 'elf',
  matches(head: Uint8Array): boolean {
    return (
      head.length >= 20 &&
      head[0] === 0x7f &&
      head[1] === 0x45 &&
      head[2] === 0x4c &&
      head[3] === 0x46 &&
      (head[4] === 1 || head[4] === 2) &&
      (head[5] === 1 || head[5] === 2) &&
      head[6] === 1
    );
  },
  create(size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new ElfValidator(size));
  },
};
