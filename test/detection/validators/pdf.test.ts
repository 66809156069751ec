import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfValidator } from '../../../agent/detection/validators/pdf.js';
import { findByExtension, findMachineFiles, MACHINE_ROOTS } from '../../helpers/machine-files.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damageResults,
  describeResult,
  falsePositives,
  loadFiles,
  missedTruncations,
  overwritten,
  truncationPoints,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

let dir: string;
let shipped: LoadedFile[] = [];
/** PDFs written here by real tools (poppler, cairo, qpdf, Chromium/Skia) from the real ones and real images. */
let made: LoadedFile[] = [];
let all: LoadedFile[] = [];
let encrypted: LoadedFile;

function run(command: string, args: string[]): void {
  // poppler prints thousands of warnings on some documents: discard them.
  execFileSync(command, args, { cwd: dir, stdio: 'ignore', timeout: 60_000 });
}

function read(name: string): LoadedFile {
  return { path: path.join(dir, name), bytes: readFileSync(path.join(dir, name)) };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-pdf-validator-'));
  shipped = loadFiles(
    findMachineFiles({
      name: (name) => name.toLowerCase().endsWith('.pdf'),
      limit: 50,
      roots: [...MACHINE_ROOTS, '/root/.pyenv'],
    }),
  );
  shipped.forEach((file, n) => {
    copyFileSync(file.path, path.join(dir, `source${n}.pdf`));
    run('pdfseparate', [`source${n}.pdf`, `page${n}-%d.pdf`]);
    run('pdftocairo', ['-pdf', '-f', '1', '-l', '3', `source${n}.pdf`, `cairo${n}.pdf`]);
    run('qpdf', ['--object-streams=generate', `source${n}.pdf`, `objstm${n}.pdf`]);
    run('qpdf', ['--linearize', `source${n}.pdf`, `linear${n}.pdf`]);
    run('qpdf', ['--qdf', `source${n}.pdf`, `qdf${n}.pdf`]);
  });
  run('pdfunite', ['page0-1.pdf', 'page1-2.pdf', 'page0-3.pdf', 'united.pdf']);
  // Chromium (Skia's PDF writer) printing a page with real JPEG and PNG images: DCTDecode and Flate image streams.
  const jpegs = findMachineFiles({
    name: (name) => /\.jpe?g$/i.test(name),
    limit: 3,
    roots: ['/usr/share/doc', '/usr/lib'],
  });
  const pngs = findByExtension(['.png'], 3, { minSize: 2000 });
  const images = [...jpegs, ...pngs].map((file) => `<img src="file://${file.path}">`).join('\n');
  writeFileSync(
    path.join(dir, 'page.html'),
    `<html><body><h1>vouch</h1><p>${'Backups are only as good as their restores. '.repeat(40)}</p>${images}</body></html>`,
  );
  run('chromium', [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--no-pdf-header-footer',
    '--print-to-pdf=chromium.pdf',
    'page.html',
  ]);
  run('qpdf', ['--encrypt', 'user', 'owner', '256', '--', 'page0-1.pdf', 'encrypted.pdf']);
  encrypted = read('encrypted.pdf');
  made = readdirSync(dir)
    .filter((name) => name.endsWith('.pdf') && !name.startsWith('source') && name !== 'encrypted.pdf')
    .sort()
    .map(read);
  all = [...shipped, ...made];
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pdf validator on real files', () => {
  it('has the machine PDFs and at least 20 derived by real tools, with JPEG images among them', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(2);
    expect(made.length).toBeGreaterThanOrEqual(20);
    expect(read('chromium.pdf').bytes.includes('/DCTDecode')).toBe(true);
  });

  it('judges every intact PDF valid, whole and in varied chunks', () => {
    expect(falsePositives(pdfValidator, all)).toEqual([]);
    expect(falsePositives(pdfValidator, all, 'varied')).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges PDFs damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    const result = damageResults(pdfValidator, all, mode, keepHead);
    console.log(describeResult('pdf', result));
    // Damage lands in Flate or DCT streams (checked), in the text between them (which hides
    // stream keywords and so leaves streams unterminated), or at the end (startxref, %%EOF).
    expect(result.missed).toEqual([]);
    expect(result.invalid).toBe(result.files);
  });

  it('judges truncated PDFs invalid', () => {
    // Only the end-of-line after %%EOF may go (readers do not need it): cut inside %%EOF instead.
    expect(
      missedTruncations(pdfValidator, all, (bytes) => [
        ...truncationPoints(bytes.length).slice(0, -1),
        bytes.lastIndexOf('%%EOF') + 3,
      ]),
    ).toEqual([]);
  });

  it('gives the same verdict fed 1 byte at a time as in one chunk', () => {
    const files = all.filter((f) => f.bytes.length < 400 * 1024).slice(0, 6);
    expect(
      chunkingDisagreements(
        pdfValidator,
        files.flatMap((file) => [file, overwritten(file, 32, 0x20)]),
        [1],
      ),
    ).toEqual([]);
  });

  it('accepts leading binary junk before %PDF- (offsets count from the header) but does not claim text that mentions it', () => {
    const file = shipped[0]!.bytes;
    const junk = readFileSync(findByExtension(['.gz'], 1)[0]!.path).subarray(0, 300);
    const prefixed = Buffer.concat([junk, file]);
    expect(pdfValidator.matches(prefixed.subarray(0, 64 * 1024))).toBe(true);
    expect(validate(pdfValidator, prefixed, 'varied').status).toBe('valid');
    const note = Buffer.from('Notes on the format\nEvery file starts with %PDF-1.7 and ends with %%EOF.\n');
    expect(pdfValidator.matches(note)).toBe(false);
  });

  it('calls an encrypted PDF unsupported, not invalid', () => {
    expect(validate(pdfValidator, encrypted.bytes, 'varied')).toMatchObject({
      status: 'unsupported',
      detail: 'PDF is encrypted (standard security handler)',
    });
  });

  it('checks DCT image streams with the JPEG validator', () => {
    const file = read('chromium.pdf').bytes;
    const image = file.indexOf('/DCTDecode');
    const data = file.indexOf('stream', image) + 'stream'.length + 2;
    const damaged = Buffer.from(file);
    // Inside the image's entropy-coded data, past its headers: a stray marker.
    damaged[data + 2000] = 0xff;
    damaged[data + 2001] = 0x02;
    expect(validate(pdfValidator, damaged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('DCT image stream'),
    });
  });

  it('rejects a startxref that points at no cross-reference section', () => {
    const file = shipped[0]!.bytes;
    const at = file.lastIndexOf('startxref') + 'startxref'.length + 1;
    const forged = Buffer.from(file);
    forged[at] = forged[at] === 0x31 ? 0x32 : 0x31;
    expect(validate(pdfValidator, forged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('points at no cross-reference'),
    });
  });

  it('walks past the decode cap without inflating', () => {
    const file = shipped[0]!;
    const verdict = validate(pdfValidator, file.bytes, 64 * 1024, {
      maxDecodeBytes: 32 * 1024,
      maxOutputBytes: 2 ** 30,
    });
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(file.bytes.length / 2);
    // The structure past the cap is still walked: a damaged tail is found.
    const damaged = Buffer.from(file.bytes);
    damaged.fill(0x41, damaged.length - 40);
    expect(
      validate(pdfValidator, damaged, 64 * 1024, { maxDecodeBytes: 32 * 1024, maxOutputBytes: 2 ** 30 })
        .status,
    ).toBe('invalid');
    expect(
      validate(pdfValidator, file.bytes, 64 * 1024, { maxDecodeBytes: 2 ** 30, maxOutputBytes: 4096 }).status,
    ).toBe('valid');
  });
});
