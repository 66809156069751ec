import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { simdTextScanner } from '../../../agent/detection/validators/text-scan-simd.js';
import { cleanUtf8Leads, swarUtf8Leads, textValidator } from '../../../agent/detection/validators/text.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware } from '../../helpers/ransomware-modes.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damagedCopy,
  damageResults,
  describeResult,
  falsePositives,
  unclaimed,
  validate,
  verdictsOf,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

interface Fixture extends LoadedFile {
  utf8: boolean;
}

const fixtures: Fixture[] = [];

function add(path: string, bytes: Buffer, utf8 = true): void {
  fixtures.push({ path: path, bytes, utf8 });
}

beforeAll(() => {
  const read = (path: string): Buffer =>
    path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path);
  // UTF-8: licences, documentation, Python and shell sources, HTML, man pages and GNU info (control-byte separators).
  for (const file of findMachineFiles({ name: () => true, roots: ['/usr/share/common-licenses'], limit: 8 }))
    add(file.path, read(file.path));
  for (const file of findMachineFiles({
    name: (n) => n.endsWith('.py'),
    roots: ['/usr/lib/python3', '/root/.pyenv/versions/3.12.1/lib/python3.12'],
    minSize: 2000,
    limit: 6,
  }))
    add(file.path, read(file.path));
  for (const file of findMachineFiles({
    name: (n) => n.endsWith('.html'),
    roots: ['/usr/share/doc'],
    minSize: 2000,
    limit: 4,
  }))
    add(file.path, read(file.path));
  for (const file of findMachineFiles({
    name: (n) => n.endsWith('.1.gz'),
    roots: ['/usr/share/man/man1'],
    minSize: 3000,
    limit: 8,
  }))
    add(file.path, read(file.path));
  for (const file of findMachineFiles({
    name: (n) => n.endsWith('.info.gz'),
    roots: ['/usr/share/info'],
    limit: 3,
  }))
    add(file.path, read(file.path));
  add('/usr/share/man/man1/bash.1.gz', read('/usr/share/man/man1/bash.1.gz')); // troff with BEL delimiters
  // Legacy encodings: Vim's tutor in Latin-1, CP1250, CP1251, KOI8-R, CP737, ISO-8859-9, EUC-JP, Shift-JIS, EUC-KR, Big5.
  const tutor = '/usr/share/vim/vim90/tutor/';
  for (const name of [
    'tutor.de',
    'tutor.fr',
    'tutor.pl.cp1250',
    'tutor.ru.cp1251',
    'tutor.ru',
    'tutor.el.cp737',
    'tutor.tr.iso9',
    'tutor.ja.euc',
    'tutor.ja.sjis',
    'tutor.ko.euc',
    'tutor.zh.big5',
  ]) {
    add(tutor + name, read(tutor + name), false);
  }
  // Changelogs with Latin-1 names, one with UTF-8 elsewhere in it too.
  for (const path of [
    '/usr/share/doc/ed/changelog.gz',
    '/usr/share/doc/libpam0g/changelog.gz',
    '/usr/share/doc/netpbm/changelog.gz',
  ]) {
    try {
      add(path, read(path), false);
    } catch {
      // not on this machine
    }
  }
});

describe('text validator', () => {
  it('has at least 20 real text files, UTF-8 and legacy', () => {
    expect(fixtures.filter((f) => f.utf8).length).toBeGreaterThanOrEqual(20);
    expect(fixtures.filter((f) => !f.utf8).length).toBeGreaterThanOrEqual(10);
  });

  it('judges every intact text valid, in every encoding', () => {
    expect(falsePositives(textValidator, fixtures, 'varied')).toEqual([]);
    expect(verdictsOf(textValidator, fixtures)).toEqual(
      fixtures.map((f) => ({
        path: f.path,
        size: f.bytes.length,
        verdict: { status: 'valid', checkedBytes: f.bytes.length },
      })),
    );
  });

  it('claims UTF-8 text by its head, and no legacy, binary or random bytes', () => {
    expect(
      unclaimed(
        textValidator,
        fixtures.filter((f) => f.utf8),
      ),
    ).toEqual([]);
    expect(textValidator.matches(readFileSync('/usr/share/vim/vim90/tutor/tutor.ru.cp1251'))).toBe(false);
    expect(textValidator.matches(readFileSync('/bin/ls').subarray(0, 65536))).toBe(false);
    expect(textValidator.matches(applyRansomware(Buffer.alloc(4096, 0x61), 'whole', 'a'))).toBe(false);
    // A head cut inside a multibyte character is still text.
    const russian = readFileSync('/usr/share/vim/vim90/tutor/tutor.ru.utf-8');
    const cut = Buffer.concat([russian, russian, russian, russian]).subarray(0, 64 * 1024);
    expect(textValidator.matches(cut)).toBe(true);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = fixtures.filter((_, i) => i % 5 === 0);
    expect(chunkingDisagreements(textValidator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        textValidator,
        files.map((file) => damagedCopy(file, 'intermittent-16-16', 64)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each([
    ...DAMAGE_CASES,
    ['header-kept', 4096],
    ['intermittent-16-16', 4096],
    ['chunks-3x10', 4096],
  ] as const)('judges every text damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    const result = damageResults(textValidator, fixtures, mode, keepHead);
    console.info(describeResult('text', result));
    expect(result.missed).toEqual([]);
  });

  it('finds one random 16-byte stretch anywhere in UTF-8 and legacy text', () => {
    let missed = 0;
    let tried = 0;
    for (const { path: name, bytes } of fixtures) {
      for (const at of [100, Math.floor(bytes.length / 2), bytes.length - 16]) {
        const damaged = Buffer.from(bytes);
        applyRansomware(Buffer.alloc(16), 'whole', `${name}@${at}`).copy(damaged, at);
        tried += 1;
        missed += validate(textValidator, damaged).status === 'invalid' ? 0 : 1;
      }
    }
    // Sixteen random bytes carry a forbidden control byte with ~80 % odds and break UTF-8 almost
    // always; legacy text with no control byte in the stretch is the case that can slip.
    console.info(`text: one 16-byte random stretch detected in ${tried - missed}/${tried} placements`);
    expect(missed / tried).toBeLessThan(0.1);
  });

  it('cannot tell a text cut at a character boundary from a whole one (size history must)', () => {
    const { bytes } = fixtures.find((f) => f.path.endsWith('tutor.ru.cp1251'))!;
    expect(validate(textValidator, bytes.subarray(0, Math.floor(bytes.length / 2))).status).toBe('valid');
  });

  it('leaves UTF-16 text to other checks', () => {
    const utf16 = Buffer.from(
      `\ufeff${readFileSync('/usr/share/common-licenses/GPL-3', 'utf8').slice(0, 5000)}`,
      'utf16le',
    );
    expect(validate(textValidator, utf16).status).toBe('unsupported');
    expect(textValidator.matches(utf16)).toBe(false);
  });

  it('names the control byte that broke the text', () => {
    const text = Buffer.from('plain text\n'.repeat(50));
    text[200] = 0xff;
    text[230] = 0x02;
    expect(validate(textValidator, text)).toMatchObject({
      status: 'invalid',
      offset: 230,
      detail: 'control bytes text does not contain (0x02 among invalid UTF-8)',
    });
  });

  it('reads text with literal control bytes as text (vim macros, tables listing every ASCII code up to DEL)', () => {
    // A vim macro file types ^V, ^R, ^W and ^[ literally; a generated table lists 0x00…0x7f.
    const macros = Buffer.from(`" macros\n${'nnoremap <F2> :s/\x16\x0d/\x12\x17/g\x16\x0d\n'.repeat(400)}`);
    const table = Buffer.from(
      `const ascii = "${Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('')}";\n`.repeat(
        40,
      ),
    );
    expect(validate(textValidator, macros).status).toBe('valid');
    expect(validate(textValidator, table).status).toBe('valid');
  });

  it('finds every control byte text does not contain, in every lane of a word, however the chunk is aligned', () => {
    // Text uses BEL, BS, TAB, LF, VT, FF, CR and ESC; every other C0 control, and DEL, is foreign to it.
    const allowed = new Set([0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);
    const wrong: string[] = [];
    const backing = new Uint8Array(200);
    for (let byte = 0; byte < 0x80; byte++) {
      const foreign = (byte < 0x20 && !allowed.has(byte)) || byte === 0x7f;
      for (let align = 0; align < 4; align++) {
        for (let lane = 0; lane < 8; lane++) {
          const chunk = backing.subarray(align, align + 100).fill(0x61);
          chunk[40 + lane] = byte;
          if (cleanUtf8Leads(chunk, 0, chunk.length) < 0 !== foreign)
            wrong.push(`byte 0x${byte.toString(16)} at ${40 + lane} of a chunk at offset ${align}`);
          // Next to invalid UTF-8 it is damage to the validator too (alone it is not: vim macros).
          chunk[60 + lane] = 0xff;
          if ((validate(textValidator, chunk, chunk.length).status === 'invalid') !== foreign)
            wrong.push(`0x${byte.toString(16)} near invalid UTF-8, chunk at offset ${align}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('scans with WebAssembly SIMD: every byte value in every lane of a vector and across its 1 MiB windows, as the word-wise scan does', () => {
    const simd = simdTextScanner();
    expect(simd).not.toBeNull();
    const scan = simd!;
    const reference = (bytes: Uint8Array) => swarUtf8Leads(bytes, 0, bytes.length);
    const wrong: string[] = [];
    // Every byte value (valid UTF-8 or not: this scan only finds forbidden bytes and counts leads)
    // at every lane of the first, a middle and the padded last vector.
    for (let byte = 0; byte < 256; byte++) {
      for (const length of [16, 47, 300]) {
        for (let at = 0; at < length; at += at < 20 || at > length - 20 ? 1 : 13) {
          const bytes = new Uint8Array(length).fill(0x61);
          bytes[at] = byte;
          if (scan(bytes) !== reference(bytes)) wrong.push(`0x${byte.toString(16)} at ${at} of ${length}`);
        }
      }
    }
    // Lead counts past the 8-bit lanes' 255 vectors, and forbidden bytes either side of a window's end.
    const leads = new Uint8Array(3 * 2 ** 20 + 5).fill(0xc3);
    if (scan(leads) !== leads.length) wrong.push('3 MiB of lead bytes');
    for (const at of [2 ** 20 - 1, 2 ** 20, 2 ** 20 + 1, leads.length - 1]) {
      const copy = new Uint8Array(leads.length).fill(0x62);
      copy[at] = 0x7f;
      if (scan(copy) !== -1) wrong.push(`DEL at ${at}`);
    }
    // Real text, whole and in uneven slices.
    for (const fixture of fixtures.filter((candidate) => candidate.utf8)) {
      for (let from = 0; from < fixture.bytes.length; from += 4093) {
        const slice = fixture.bytes.subarray(from, from + 70_001);
        if (scan(slice) !== reference(slice)) wrong.push(`${fixture.path} from ${from}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('counts multibyte characters in every lane of a word, so UTF-8 and stray bytes are weighed alike in any chunking', () => {
    const characters = ['é', 'ж', '中', '😀'];
    const wrong: string[] = [];
    for (const character of characters) {
      for (let lead = 0; lead < 9; lead++) {
        const text = Buffer.from(`${'a'.repeat(lead)}${character.repeat(5)}abc${character}${'z'.repeat(9)}`);
        for (let align = 0; align < 4; align++) {
          const backing = new Uint8Array(text.length + 4);
          backing.set(text, align);
          if (cleanUtf8Leads(backing, align, align + text.length) !== 6)
            wrong.push(`${character} after ${lead} bytes at offset ${align}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(cleanUtf8Leads(Buffer.from('caf\xc3', 'latin1'), 0, 4)).toBe(-1);
  });
});
