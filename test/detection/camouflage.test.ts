/**
 * Ransomware camouflaged as legitimate encryption, made with the real tools (gpg, age, openssl
 * enc, 7z, zip -P, cryptsetup) over real files of this machine: a path whose previous version was
 * plain and whose content is now in one of those containers became encrypted — in place or
 * renamed (paired with its predecessor), raw or armoured as base64. The same containers stay
 * quiet as new content, as content that was encrypted before, and under `detection.allow`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DETECTION } from '../../agent/config/resolve-policy.js';
import { classify } from '../../agent/detection/classify.js';
import { SnapshotDetection } from '../../agent/detection/snapshot-detection.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import { classifyBytes, featuresOf } from '../helpers/detect.js';
import { findByExtension } from '../helpers/machine-files.js';

let dir: string;
const original = readFileSync('/usr/share/common-licenses/GPL-3');
const pdfPath = findByExtension(['.pdf'], 1, { minSize: 8 * 1024, maxSize: 4 * 2 ** 20 })[0]?.path;

function run(command: string, args: string[], input?: string | Buffer): Buffer {
  return execFileSync(command, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 2 ** 28 });
}

/** Every container, as real tools write it around `data`. */
function containers(data: Buffer): Record<string, Buffer> {
  const plain = path.join(dir, 'plain');
  writeFileSync(plain, data);
  const out = (name: string) => path.join(dir, name);
  rmSync(out('x.7z'), { force: true });
  rmSync(out('x.zip'), { force: true });
  rmSync(out('age.key'), { force: true });
  run('age-keygen', ['-o', out('age.key')]);
  const recipient =
    /public key: (\S+)/.exec(readFileSync(out('age.key'), 'utf8'))?.[1] ??
    run('age-keygen', ['-y', out('age.key')])
      .toString()
      .trim();
  run('7zz', ['a', '-bd', '-pransom', '-mhe=on', out('x.7z'), plain]);
  run('zip', ['-q', '-j', '-P', 'ransom', out('x.zip'), plain]);
  // A LUKS2 header over a small volume file (no device mapping: the header is what ransomware leaves).
  const volume = out('luks.img');
  writeFileSync(volume, Buffer.alloc(Math.max(16 * 2 ** 20, data.length + 8 * 2 ** 20)));
  run(
    'cryptsetup',
    [
      'luksFormat',
      '--batch-mode',
      '--type',
      'luks2',
      '--pbkdf',
      'pbkdf2',
      '--pbkdf-force-iterations',
      '1000',
      '--key-file',
      '-',
      volume,
    ],
    'ransom',
  );
  return {
    openpgp: run(
      'gpg',
      [
        '--batch',
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        'ransom',
        '--symmetric',
        '--output',
        '-',
        plain,
      ],
      undefined,
    ),
    age: run('age', ['-r', recipient, plain]),
    'openssl-salted': run('openssl', [
      'enc',
      '-aes-256-cbc',
      '-pbkdf2',
      '-salt',
      '-pass',
      'pass:ransom',
      '-in',
      plain,
    ]),
    '7z': readFileSync(out('x.7z')),
    'zip-encrypted': readFileSync(out('x.zip')),
    luks: readFileSync(volume),
    base64: Buffer.from(
      run('openssl', ['enc', '-aes-256-ctr', '-pbkdf2', '-nosalt', '-pass', 'pass:ransom', '-in', plain])
        .toString('base64')
        .replace(/.{76}/g, '$&\n'),
    ),
    'base64:openssl-salted': run('openssl', [
      'enc',
      '-aes-256-cbc',
      '-pbkdf2',
      '-salt',
      '-a',
      '-pass',
      'pass:ransom',
      '-in',
      plain,
    ]),
  };
}

let made: Record<string, Buffer>;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-camouflage-'));
  process.env.GNUPGHOME = mkdtempSync(path.join(tmpdir(), 'vouch-gnupg-'));
  made = containers(original);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ransomware camouflaged in legitimate encryption containers', () => {
  it('names each container the real tools make', () => {
    for (const [container, bytes] of Object.entries(made)) {
      expect(
        classify({ path: 'new/file.bin', features: featuresOf(bytes, undefined, 'new/file.bin') }).summary
          .container,
        container,
      ).toBe(container);
    }
  });

  it('calls a plain file that became a container in place strongly encrypted, naming the container', () => {
    for (const [container, bytes] of Object.entries(made)) {
      const result = classifyBytes('docs/GPL-3.txt', bytes, { data: original });
      expect(result, container).toMatchObject({ encrypted: true, strength: 'strong' });
      expect(result.reasons, container).toEqual(
        expect.arrayContaining(['became-encrypted', `container:${container}`]),
      );
    }
  });

  it('calls a plain file renamed into a container (paired with its predecessor) strongly encrypted', () => {
    for (const [container, bytes] of Object.entries(made)) {
      const result = classifyBytes('docs/GPL-3.txt.locked', bytes, {
        path: 'docs/GPL-3.txt',
        data: original,
      });
      expect(result, container).toMatchObject({ encrypted: true, strength: 'strong' });
    }
  });

  it('leaves containers quiet as new content, and where the previous snapshot held them already', () => {
    for (const [container, bytes] of Object.entries(made)) {
      expect(classifyBytes('vault/secrets.bin', bytes), container).toMatchObject({
        encrypted: false,
        judgement: 'legit-encrypted',
      });
      expect(classifyBytes('vault/secrets.bin', bytes, { data: made.openpgp! }), container).toMatchObject({
        encrypted: false,
      });
    }
  });

  it('makes a snapshot compromised when a third of its files became containers, renamed or not; allow-listed paths stay quiet', () => {
    const files = Array.from({ length: 30 }, (_, i) => `docs/file-${i}.txt`);
    const previous = new Map<string, ManifestEntry>(
      files.map((file) => [
        file,
        {
          path: file,
          type: 'file',
          size: original.length,
          digest: 'before',
          content: classify({ path: file, features: featuresOf(original, undefined, file) }).summary,
        },
      ]),
    );
    const kinds = Object.keys(made);
    const policy = { ...DEFAULT_DETECTION, allow: ['vault/**'] };
    const detection = new SnapshotDetection(policy, previous);
    let hits = 0;
    files.forEach((file, i) => {
      if (i % 3 !== 0) {
        detection.judge({
          path: file,
          size: original.length,
          digest: 'before',
          features: featuresOf(original, undefined, file),
        });
        return;
      }
      const bytes = made[kinds[hits % kinds.length]!]!;
      const target = hits % 2 === 0 ? file : `${file}.locked`;
      hits++;
      detection.judge({
        path: target,
        size: bytes.length,
        digest: `after-${i}`,
        features: featuresOf(bytes, undefined, target),
      });
    });
    const { summary } = detection.finish(true);
    expect(summary.encryptedStrong).toBe(hits);

    // The same containers where the policy allows encryption on purpose.
    const allowedPrevious = new Map<string, ManifestEntry>(
      ['vault/GPL-3.txt', 'vault/notes.txt'].map((file) => [
        file,
        { ...previous.get(files[0]!)!, path: file },
      ]),
    );
    const allowed = new SnapshotDetection(policy, allowedPrevious);
    const judged = allowed.judge({
      path: 'vault/GPL-3.txt',
      size: made.openpgp!.length,
      digest: 'x',
      features: featuresOf(made.openpgp!),
    });
    expect(judged.classification).toMatchObject({ encrypted: false, judgement: 'legit-encrypted' });
    // Renamed on purpose (gpg writes x.gpg, then the plain file is removed): no finding either.
    allowed.judge({
      path: 'vault/notes.txt.gpg',
      size: made.openpgp!.length,
      digest: 'y',
      features: featuresOf(made.openpgp!),
    });
    const done = allowed.finish(true, undefined);
    expect(done.summary.encryptedStrong).toBe(0);
    expect(done.summary.renamed).toBe(1);
    expect(done.findings).toEqual([]);
  });

  it("flags an encryption tool's output under a document's name, without history, as strong; an archive there as weak", () => {
    if (!pdfPath) return;
    const pdf = readFileSync(pdfPath);
    const wrapped = containers(pdf);
    for (const tool of ['openpgp', 'age', 'openssl-salted']) {
      const result = classifyBytes('invoices/INV-1.pdf', wrapped[tool]!);
      expect(result, tool).toMatchObject({ encrypted: true, strength: 'strong' });
      expect(result.reasons, tool).toContain('camouflaged-container');
    }
    expect(classifyBytes('invoices/INV-1.pdf', wrapped['7z']!)).toMatchObject({
      encrypted: true,
      strength: 'weak',
    });
  });

  it('flags binary ciphertext under a plain-text name (.txt, .csv, .json, .sql, .md, .log…) as camouflage, without history', () => {
    const binary = ['openpgp', 'age', 'openssl-salted', '7z', 'zip-encrypted'];
    for (const name of [
      'notes/new5.txt',
      'exports/orders.csv',
      'api/config.json',
      'db/dump.sql',
      'README.md',
      'var/app.log',
      'conf/site.yaml',
      'data/feed.xml',
    ]) {
      for (const container of binary) {
        const result = classifyBytes(name, made[container]!);
        expect(result, `${container} as ${name}`).toMatchObject({ encrypted: true, strength: 'strong' });
        expect(result.reasons, `${container} as ${name}`).toEqual(
          expect.arrayContaining(['camouflaged-container', `container:${container}`]),
        );
      }
      // `openssl enc -a` output under a text name: out of place, not proof; base64 of unmarked random bytes (keys, test data) is legitimate.
      expect(classifyBytes(name, made['base64:openssl-salted']!), name).toMatchObject({
        encrypted: true,
        strength: 'weak',
      });
      expect(classifyBytes(name, made.base64!), name).toMatchObject({
        encrypted: false,
        judgement: 'legit-encrypted',
      });
    }
    // A renamed copy that kept its old extension in front (`orders.csv.locked`) is the same camouflage.
    expect(classifyBytes('exports/orders.csv.locked', made['openssl-salted']!)).toMatchObject({
      encrypted: true,
      strength: 'strong',
    });
  });

  it('does not take base64 of compressed data read whole (a 500 KB slice of a .tar.gz) for armoured ciphertext', () => {
    // 48 KiB of decoded gzip data pass chi-square for random bytes; the whole head does not. The
    // armour is judged on the head a worker reads (a file under 1 MiB whole), not on 64 KiB of it.
    const gzipped = execFileSync('sh', ['-c', 'tar czf - -C /usr/share/doc . 2>/dev/null | head -c 500000'], {
      maxBuffer: 2 ** 20,
    });
    expect(gzipped.length).toBe(500_000);
    const wrapped = Buffer.from(gzipped.toString('base64').replace(/.{76}/g, '$&\n'));
    const name = 'exports/bundle.b64.txt';
    const features = featuresOf(wrapped, wrapped.length, name);
    expect(features.armour).toBeUndefined();
    expect(classify({ path: name, features })).toMatchObject({ encrypted: false, judgement: 'intact' });
  });

  it('leaves containers legitimate under names that say encrypted, claim nothing, or hold armour a person reads as encrypted', () => {
    const armoured = run('gpg', [
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'x',
      '--symmetric',
      '--armor',
      '--output',
      '-',
      '/usr/share/common-licenses/GPL-3',
    ]);
    expect(featuresOf(armoured).armoured).toBe(true);
    expect(classifyBytes('mail/message.txt', armoured)).toMatchObject({
      encrypted: false,
      judgement: 'legit-encrypted',
    });
    for (const [container, bytes] of Object.entries(made)) {
      for (const name of [
        'backup/db.sql.enc',
        'backup/orders.csv.aes',
        'backup/notes.txt.gpg',
        'keys/secret.asc',
        'vault/data.age',
        'backup/blob',
        'backup/blob.bin',
      ]) {
        if (name.endsWith('.asc') && container !== 'openpgp') continue;
        if (name.endsWith('.age') && container !== 'age') continue;
        expect(classifyBytes(name, bytes), `${container} as ${name}`).toMatchObject({
          encrypted: false,
          judgement: 'legit-encrypted',
        });
      }
    }
  });
});

describe('PostgreSQL plain dumps', () => {
  it('reads a whole dump as valid and one cut short mid-statement as corrupted, not encrypted', async () => {
    const { demoSnapshotFiles } = await import('../../agent/demo/estate.js');
    const dump = (await demoSnapshotFiles(3, { start: new Date('2025-01-01T00:00:00Z') })).find(
      (file) => file.path === 'db/orders.sql',
    )!.data;
    expect(featuresOf(dump).type).toBe('pg-sql');
    expect(classifyBytes('db/orders.sql', dump)).toMatchObject({ encrypted: false, judgement: 'intact' });
    const result = classifyBytes('db/orders.sql', dump.subarray(0, Math.floor(dump.length * 0.7)));
    expect(result).toMatchObject({ encrypted: false, judgement: 'damaged' });
    expect(result.reasons).toEqual(expect.arrayContaining(['structure-invalid', 'truncated']));
  });
});
