import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMetrics, runJob } from '../helpers/serve.js';

const ENTRY = fileURLToPath(new URL('../helpers/serve-entry.ts', import.meta.url));

describe('vouch demo --serve', () => {
  it('keeps the embedded store and the daemon up after the demo: metrics show the tampered and the ransomware-hit snapshots, scans still work, SIGTERM stops both', async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-demo-serve-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', ENTRY, '--state', state, 'demo', '--serve', '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /running on the demo estate: (http:\/\/[^/\s]+)\/metrics/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`demo exited ${code}: ${stderr}`)));
    });
    try {
      expect(stdout).toMatch(
        /Result: orders-\d{8}T\d{6}Z was rewritten after its baseline and orders-\d{8}T\d{6}Z holds the ransomware's work/,
      );
      const metrics = parseMetrics(await (await fetch(`${url}/metrics`)).text());
      expect(metrics.get('vouch_snapshots{set="orders",verdict="compromised"}')).toBe(2);
      expect(metrics.get('vouch_snapshots{set="orders",verdict="clean"}')).toBe(12);
      expect(metrics.get('vouch_findings{set="orders",kind="ransom-note"}')).toBe(1);
      expect(await runJob(url, 'orders', 'scan')).toMatchObject({
        status: 'succeeded',
        result: { verdicts: { clean: 12, compromised: 2 } },
      });
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      clearTimeout(killer);
    }
  });
});
