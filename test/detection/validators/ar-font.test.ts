/**
 * ar (Debian packages, static libraries) and TrueType/OpenType fonts, on real files of this
 * machine: every intact one validates in any chunking, and header-kept encryption — which keeps
 * their magic and, for fonts, often the table directory — is caught by the next member header or
 * by the table checksums. Truncation is caught too.
 */
import { describe, expect, it } from 'vitest';
import { arValidator } from '../../../agent/detection/validators/ar.js';
import { fontValidator } from '../../../agent/detection/validators/font.js';
import { findByExtension } from '../../helpers/machine-files.js';
import {
  chunkingDisagreements,
  damageResults,
  describeResult,
  falsePositives,
  loadFiles,
  missedTruncations,
  validate,
} from '../../helpers/validator-harness.js';

const archives = loadFiles(findByExtension(['.deb', '.a'], 40, { minSize: 1024, maxSize: 8 * 2 ** 20 }));
const fonts = loadFiles(findByExtension(['.ttf', '.otf'], 40, { minSize: 1024, maxSize: 8 * 2 ** 20 }));

describe.each([
  ['ar', arValidator, archives],
  ['font', fontValidator, fonts],
] as const)('%s validator on real files', (type, validator, files) => {
  it('finds real files to test with', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('judges every intact file valid, in any chunking', () => {
    expect(falsePositives(validator, files)).toEqual([]);
    expect(
      chunkingDisagreements(validator, files.filter((file) => file.bytes.length < 256 * 1024).slice(0, 8)),
    ).toEqual([]);
  });

  it('judges every file hit by header-kept encryption invalid', () => {
    const result = damageResults(validator, files, 'header-kept');
    console.info(describeResult(type, result));
    expect(result.missed).toEqual([]);
  });

  if (type === 'ar') {
    it("reads an archive of no members (glibc's stub libraries: the signature alone) as valid", () => {
      expect(validate(validator, Buffer.from('!<arch>\n'))).toMatchObject({ status: 'valid' });
    });
  }

  it("judges truncated files invalid (a font may lose its last table's zero padding, an ar archive its members after the signature, unnoticed)", () => {
    const cuts = (bytes: Buffer) => [
      type === 'ar' ? 30 : 8,
      Math.floor(bytes.length / 3),
      Math.floor(bytes.length / 2),
      bytes.length - (type === 'font' ? 4 : 1),
    ];
    expect(missedTruncations(validator, files.slice(0, 10), cuts)).toEqual([]);
  });
});
