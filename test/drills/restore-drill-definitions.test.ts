import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePolicy, validatePolicy } from '../../agent/config/load-policy.js';
import { demoSnapshotFiles, packTarGz } from '../../agent/demo/estate.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { drillFixture, policyOf } from '../helpers/drill-fixtures.js';

const DIR = fileURLToPath(new URL('../../restore-drills/', import.meta.url));
const definitions = readdirSync(DIR).filter((name) => name.endsWith('.yaml'));

describe('ready drill definitions in restore-drills/', () => {
  it('are valid policies whose scripts exist and parse', () => {
    expect(definitions.sort()).toEqual([
      'file-exports.yaml',
      'kanda-orders.yaml',
      'postgres-dump.yaml',
      'sqlite-database.yaml',
    ]);
    for (const name of definitions) {
      const policy = parsePolicy(readFileSync(path.join(DIR, name), 'utf8'), path.join(DIR, name));
      for (const set of policy.sets) {
        for (const command of set.drill.commands.filter((candidate) => candidate.script)) {
          expect(existsSync(command.script!), `${name}: ${command.script}`).toBe(true);
          execFileSync('sh', ['-n', command.script!]);
        }
      }
    }
  });

  it('kanda-orders passes on a demo backup and names what is wrong with a damaged one', async () => {
    const fixture = await drillFixture('vouch-definitions-');
    const start = new Date('2026-11-01T00:00:00Z');
    const good = await demoSnapshotFiles(3, { start });
    await writeFile(path.join(fixture.volume, 'orders-20261104T020000Z.tar.gz'), await packTarGz(good));
    // An intruder's edit: every fifth order gone from the dump (with its lines), one invoice cut short.
    const dump = good.find((file) => file.path === 'db/orders.sql')!.data.toString('utf8');
    const ordersBlock = dump.slice(dump.indexOf('COPY public.orders ('));
    const dropped = new Set(
      ordersBlock
        .slice(0, ordersBlock.indexOf('\n\\.\n'))
        .split('\n')
        .slice(1)
        .filter((_, i) => i % 5 === 2)
        .map((row) => row.split('\t')[0]),
    );
    let cut = false;
    const damaged = good.map((file) => {
      if (file.path === 'db/orders.sql') {
        const kept = dump.split('\n').filter((line) => !dropped.has(/^(\d{6})\t/.exec(line)?.[1] ?? ''));
        return { ...file, data: Buffer.from(kept.join('\n')) };
      }
      if (!cut && file.path.startsWith('invoices/')) {
        cut = true;
        return { ...file, data: file.data.subarray(0, file.data.length - 40) };
      }
      return file;
    });
    await writeFile(path.join(fixture.volume, 'orders-20261105T020000Z.tar.gz'), await packTarGz(damaged));

    const document = parse(readFileSync(path.join(DIR, 'kanda-orders.yaml'), 'utf8'));
    document.sets.orders.source = { fs: { path: fixture.volume } };
    delete document.state;
    const [set] = validatePolicy(document, path.join(DIR, 'kanda-orders.yaml'), DIR).sets;
    await runScan(policyOf(set!), { stateDir: fixture.state });

    const passed = await runDrillReport(set!, {
      stateDir: fixture.state,
      snapshot: 'orders-20261104T020000Z',
    });
    expect(passed.failures).toEqual([]);
    expect(passed.verifiers.map((outcome) => `${outcome.verifier}: ${outcome.detail}`)).toEqual([
      expect.stringMatching(/^digest: all \d+ entries match the baseline/),
      expect.stringMatching(/^structure: /),
      expect.stringMatching(/^postgres: 1 dump restored into PostgreSQL \d+; 6 checks passed$/),
      'sqlite: 3 SQLite checks passed',
      'commands: 3 commands passed',
    ]);

    const failed = await runDrillReport(set!, {
      stateDir: fixture.state,
      snapshot: 'orders-20261105T020000Z',
    });
    expect(failed.outcome).toBe('failed');
    expect(failed.failures).toEqual([
      // The damaged invoice is named twice: by detection's PDF validator and by the drill's script.
      {
        verifier: 'structure',
        path: expect.stringMatching(/^invoices\/INV-\d+\.pdf$/),
        detail: expect.stringMatching(/^pdf: no startxref/),
      },
      {
        verifier: 'postgres',
        path: 'db/orders.sql: order numbers have no gaps',
        detail: expect.stringMatching(/^returned [1-9]\d*, expected 0$/),
      },
      {
        verifier: 'commands',
        path: 'invoices are whole PDFs',
        detail: expect.stringMatching(
          /^exited with 1, expected 0: invoices\/INV-\d+\.pdf: no startxref\/%%EOF trailer/,
        ),
      },
    ]);
  });
});
