/**
 * A directory snapshot replaced wholesale is `snapshot-replaced`, like a rewritten archive; a few
 * of its files drifting is not. The decision is pure (integrity/member-replacement.ts: more than
 * half of the baselined members changed identity or vanished); the scan is tested on real trees
 * on disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import {
  directoryReplaced,
  directoryReplacement,
  emptyTally,
  memberIdentityChanged,
  tallyMember,
} from '../../agent/integrity/member-replacement.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readSetIndex } from '../../agent/state/set-index.js';

const file = (
  name: string,
  size: number,
  digest: string,
  extra: Partial<ManifestEntry> = {},
): ManifestEntry => ({ path: name, type: 'file', size, digest, ...extra });

describe('directory replacement (pure)', () => {
  it('a member changed identity when its type, size, digest, ETag or VersionId differs; not for its mtime alone', () => {
    const base = file('a.csv', 10, 'd1', { etag: 'e1', versionId: 'v1', mtime: '2026-01-01T00:00:00Z' });
    expect(memberIdentityChanged(base, { ...base, mtime: '2026-02-01T00:00:00Z' })).toBe(false);
    expect(memberIdentityChanged(base, { ...base, size: 11 })).toBe(true);
    expect(memberIdentityChanged(base, { ...base, digest: 'd2' })).toBe(true);
    expect(memberIdentityChanged(base, { ...base, etag: 'e2' })).toBe(true);
    expect(memberIdentityChanged(base, { ...base, versionId: 'v2' })).toBe(true);
    expect(memberIdentityChanged(base, { ...base, type: 'symlink', linkTarget: 'x' })).toBe(true);
  });

  it('is replaced only when more than half the baselined members changed or vanished, and at least 8 of them or all', () => {
    const tally = (changed: number, vanished: number, same: number, added = 0) => {
      const t = emptyTally();
      for (let i = 0; i < changed; i++) tallyMember(t, file(`c${i}`, 1, 'a'), file(`c${i}`, 1, 'b'), true);
      for (let i = 0; i < vanished; i++) tallyMember(t, file(`v${i}`, 1, 'a'), undefined, true);
      for (let i = 0; i < same; i++) tallyMember(t, file(`s${i}`, 1, 'a'), file(`s${i}`, 1, 'a'), true);
      for (let i = 0; i < added; i++) tallyMember(t, undefined, file(`n${i}`, 1, 'a'), true);
      return t;
    };
    expect(directoryReplaced(tally(2, 0, 98))).toBe(false); // ordinary drift of a few files
    expect(directoryReplaced(tally(30, 20, 50))).toBe(false); // exactly half: not "most"
    expect(directoryReplaced(tally(40, 11, 49))).toBe(true);
    expect(directoryReplaced(tally(2, 1, 1))).toBe(false); // 3 of 4: a few files of a small snapshot drifted
    expect(directoryReplaced(tally(3, 1, 0))).toBe(true); // every member of a small snapshot
    expect(directoryReplaced(tally(1, 0, 0))).toBe(true);
    expect(directoryReplaced(tally(5, 2, 3))).toBe(false); // 7 of 10: fewer than 8, not all
    expect(directoryReplaced(tally(0, 0, 0, 50))).toBe(false); // nothing baselined
    expect(directoryReplaced(tally(0, 0, 10, 500))).toBe(false); // many new files beside intact ones: added, not replaced
    expect(directoryReplacement('2026-11-02/', tally(5, 2, 3, 1))).toBeNull();
    const finding = directoryReplacement('2026-11-02/', tally(6, 2, 2, 1), 'f'.repeat(64));
    expect(finding).toMatchObject({
      kind: 'drift-object-changed',
      path: '2026-11-02/',
      severity: 'critical',
      contentId: `listing:${'f'.repeat(64)}`,
    });
    expect(finding!.detail).toBe(
      "object rewritten after its baseline: 8 of 10 baselined members changed identity or vanished (6 rewritten, 2 gone, 1 new): the directory's member set was replaced, not drifted",
    );
    // An incomplete read does not count missing members as vanished.
    const partial = emptyTally();
    tallyMember(partial, file('a', 1, 'x'), undefined, false);
    expect(partial).toEqual({ baselined: 1, changed: 0, vanished: 0, added: 0 });
  });
});

describe('directory replacement on real trees', () => {
  it('lifts a directory whose files were mostly rewritten to snapshot-replaced, and leaves a few drifted files as drift', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'vouch-dir-replaced-'));
    const set = path.join(base, 'set');
    const names = Array.from({ length: 10 }, (_, i) => `exports/part-${i}.csv`);
    const tree = async (day: string) => {
      for (const name of names) {
        await mkdir(path.dirname(path.join(set, day, name)), { recursive: true });
        await writeFile(
          path.join(set, day, name),
          `id,total\n${Array.from({ length: 50 }, (_, row) => `${row},${(row * 3.7).toFixed(2)}`).join('\n')}\n${day} ${name}\n`,
        );
      }
    };
    for (const day of ['2026-11-01', '2026-11-02', '2026-11-03']) await tree(day);
    const policy = validatePolicy(
      {
        sets: {
          files: {
            source: { fs: { path: set } },
            snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
          },
        },
      },
      'test',
      base,
    );
    const state = path.join(base, 'state');
    const first = (await runScan(policy, { stateDir: state })).sets[0]!;
    expect(first.snapshots.map((snapshot) => snapshot.verdict)).toEqual(['clean', 'clean', 'clean']);

    // 11-01: two files edited (drift). 11-02: seven rewritten with random bytes, one deleted (replaced). 11-03: exactly half rewritten.
    for (const name of names.slice(0, 2))
      await writeFile(path.join(set, '2026-11-01', name), `id,total\n${'9,9.99\n'.repeat(400)}`);
    for (const name of names.slice(0, 7))
      await writeFile(path.join(set, '2026-11-02', name), randomBytes(700));
    await rm(path.join(set, '2026-11-02', names[9]!));
    for (const name of names.slice(0, 5))
      await writeFile(path.join(set, '2026-11-03', name), randomBytes(700));

    const second = (await runScan(policy, { stateDir: state })).sets[0]!;
    const replaced = (second.findings ?? []).filter((finding) => finding.kind === 'snapshot-replaced');
    expect(replaced.map((finding) => finding.path)).toEqual(['2026-11-02']);
    expect(replaced[0]!.detail).toContain(
      '2026-11-02/: 8 of 10 baselined members changed identity or vanished (7 rewritten, 1 gone)',
    );
    const index = await readSetIndex(state, 'files');
    expect(index.snapshots['2026-11-01']!.findingCounts['drift-modified']).toBe(2);
    expect(index.snapshots['2026-11-01']!.findingCounts['drift-object-changed']).toBeUndefined();
    expect(index.snapshots['2026-11-03']!.findingCounts['drift-object-changed']).toBeUndefined();
    expect(index.snapshots['2026-11-02']!.findingCounts['drift-object-changed']).toBe(1);

    // A rescan keeps the one finding (same replacement, same identity), no duplicate.
    const third = (await runScan(policy, { stateDir: state })).sets[0]!;
    expect((third.findings ?? []).filter((finding) => finding.kind === 'snapshot-replaced')).toHaveLength(1);
  });
});
