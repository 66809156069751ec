/**
 * Crash safety of the ledger: a process appending large records is killed with SIGKILL at
 * arbitrary moments, again and again. After every kill the evidence verifies (a torn last line is
 * ignored, never taken for tampering), the next append cuts the torn line off and chains to the
 * last complete record, and no acknowledged record is ever lost.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { openLedger, readLedger } from '../../agent/ledger/ledger-store.js';
import { waitFor } from '../helpers/wait-for.js';

const APPENDER = fileURLToPath(new URL('../helpers/ledger-appender.ts', import.meta.url));
const KILLS = 6;

/** Runs the appender until it has acknowledged at least `minimum` records, then kills it a random moment later. */
async function appendAndKill(state: string, minimum: number): Promise<number[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', APPENDER, state, String(256 * 1024 + Math.floor(Math.random() * 2 ** 20))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const acknowledged: number[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) acknowledged.push(Number(line));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(() => acknowledged.length >= minimum, 'the appender to get going', 60_000);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
  child.kill('SIGKILL');
  await exited;
  return acknowledged;
}

describe('the ledger under SIGKILL', () => {
  it(`verifies after each of ${KILLS} kills mid-append, loses no acknowledged record, and appends on from the last complete one`, async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-ledger-crash-'));
    let tornSeen = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const acknowledged = await appendAndKill(state, 2);
      const afterKill = await verifyLedger(state);
      expect(afterKill.ok, JSON.stringify(afterKill.firstBad)).toBe(true);
      if (afterKill.tornTail) tornSeen++;
      // Every acknowledged record is there (a record is acknowledged only once it is on disk).
      expect(afterKill.records).toBeGreaterThanOrEqual(acknowledged.at(-1)!);

      const ledger = await openLedger(state);
      const next = await ledger.append('scan-run', { sets: [], note: 'after the crash' });
      await ledger.close();
      expect(next.seq).toBe(afterKill.records + 1);
      const verified = await verifyLedger(state);
      expect(verified.ok).toBe(true);
      expect(verified.tornTail).toBe(false);
      expect(verified.records).toBe(next.seq);
    }
    const seqs: number[] = [];
    for await (const record of readLedger(state)) seqs.push(record!.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    // Not asserted (timing decides), but reported: how often the kill tore a line.
    console.log(`ledger crash test: ${tornSeen} of ${KILLS} kills left a torn last line`);
  });
});
