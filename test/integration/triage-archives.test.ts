/**
 * Triage on archive snapshots (.tar.gz on an offline volume), through the scan and triage code
 * the CLI calls: accepted drift in a rewritten archive counts again when the archive is rewritten
 * once more; an acceptance whose record reached the ledger but whose index update did not (a crash
 * in between) is applied by the next scan; the acceptance index follows the ledger and is rebuilt
 * when it is lost or no longer matches it.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AcceptanceRecordData } from '../../agent/ledger/acceptance-records.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { runScan } from '../../agent/scan/scan-run.js';
import {
  acceptancesOf,
  readAcceptanceIndex,
  syncAcceptanceIndex,
} from '../../agent/state/acceptance-index.js';
import { openLedger } from '../../agent/ledger/ledger-store.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { acceptFindings } from '../../agent/triage/accept-findings.js';
import { coverFindings } from '../../agent/verdicts/acceptance.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { drillFixture, drillSet, policyOf } from '../helpers/drill-fixtures.js';

describe('triage on archive snapshots', () => {
  it('accepted drift in a rewritten archive counts again when the archive is rewritten again', async () => {
    const fixture = await drillFixture('vouch-triage-archive-');
    const set = drillSet(fixture);
    const policy = policyOf(set);
    for (const day of [17, 18])
      await writeFile(
        path.join(fixture.volume, `orders-202510${day}.tar.gz`),
        await buildTarGz(sampleFiles(day)),
      );
    await runScan(policy, { stateDir: fixture.state });
    // The backup tool re-wrote the first archive (say, a repair job): drift.
    await writeFile(path.join(fixture.volume, 'orders-20251017.tar.gz'), await buildTarGz(sampleFiles(42)));
    await runScan(policy, { stateDir: fixture.state });
    let first = (await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!;
    expect(first.verdict).toBe('compromised');
    const drifted = first.findings.filter((finding) => finding.kind.startsWith('drift-'));
    expect(drifted.length).toBeGreaterThan(0);
    for (const finding of drifted.filter((candidate) => candidate.kind === 'drift-modified'))
      expect(finding.contentId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const result = await acceptFindings({
      stateDir: fixture.state,
      set,
      path: '**',
      snapshot: 'orders-20251017',
      reason: 'the repair job of ticket 4711 re-wrote it',
      by: 'ops',
    });
    expect(result.verdicts).toEqual([{ snapshot: 'orders-20251017', from: 'compromised', to: 'clean' }]);
    await runScan(policy, { stateDir: fixture.state });
    first = (await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!;
    expect(first.verdict).toBe('clean'); // a re-read of the same bytes stays accepted

    await writeFile(path.join(fixture.volume, 'orders-20251017.tar.gz'), await buildTarGz(sampleFiles(43)));
    await runScan(policy, { stateDir: fixture.state });
    first = (await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!;
    expect(first.verdict).toBe('compromised');
    const counting = first.findings.filter((finding) => !finding.accepted);
    expect(
      counting.some((finding) => finding.kind === 'drift-modified' && finding.path === 'db/orders.sql'),
    ).toBe(true);
    expect((await verifyLedger(fixture.state)).ok).toBe(true);
  });

  it('applies an acceptance recorded just before a crash at the next scan, and rebuilds a lost or outdated acceptance index', async () => {
    const fixture = await drillFixture('vouch-triage-crash-');
    const set = drillSet(fixture);
    const policy = policyOf(set);
    await writeFile(path.join(fixture.volume, 'orders-20251017.tar.gz'), await buildTarGz(sampleFiles(17)));
    await runScan(policy, { stateDir: fixture.state });
    await writeFile(path.join(fixture.volume, 'orders-20251017.tar.gz'), await buildTarGz(sampleFiles(18)));
    await runScan(policy, { stateDir: fixture.state });
    const state = (await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!;
    expect(state.verdict).toBe('compromised');

    // What `vouch accept` writes first; the process then dies before the index is judged again.
    const ledger = await openLedger(fixture.state);
    const findings = coverFindings(state.findings.map((finding) => ({ snapshot: state.id, finding })));
    const data: AcceptanceRecordData = {
      set: 'orders',
      by: 'ops',
      reason: 'known re-write',
      selection: { path: '**' },
      findings,
      count: findings.length,
      verdicts: [],
    };
    const record = await ledger.append('finding-acceptance', data);
    await ledger.close();
    expect((await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!.verdict).toBe(
      'compromised',
    );

    await runScan(policy, { stateDir: fixture.state });
    const after = (await readSetIndex(fixture.state, 'orders')).snapshots['orders-20251017']!;
    expect(after.verdict).toBe('clean');
    expect(after.findings.every((finding) => finding.accepted?.id === record.seq)).toBe(true);

    const index = await readAcceptanceIndex(fixture.state);
    expect(acceptancesOf(index, 'orders').map((acceptance) => acceptance.id)).toEqual([record.seq]);
    await rm(path.join(fixture.state, 'acceptances.json'));
    expect(
      acceptancesOf(await syncAcceptanceIndex(fixture.state, { persist: false }), 'orders').map(
        (acceptance) => acceptance.id,
      ),
    ).toEqual([record.seq]);
    // A position past the ledger's end (a ledger restored from an older copy) is folded again from the start.
    await writeFile(
      path.join(fixture.state, 'acceptances.json'),
      JSON.stringify({ ledger: { segment: '00000001.ndjson', offset: 1e12 }, sets: {} }),
    );
    expect(
      acceptancesOf(await syncAcceptanceIndex(fixture.state, { persist: true }), 'orders').map(
        (acceptance) => acceptance.id,
      ),
    ).toEqual([record.seq]);
    expect((await readAcceptanceIndex(fixture.state)).ledger?.offset).toBeLessThan(1e12);
  });
});
