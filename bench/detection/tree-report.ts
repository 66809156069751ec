/**
 * The real-tree table of the detection benchmark: per tree, layout and night — entries, bytes,
 * strongly and weakly encrypted files, other findings, verdict — and the one target it carries:
 * every intact real tree reads `clean`. Pure: results in, text out.
 */
import type { TreeResult, TreeSnapshotResult } from './real-trees.js';

const gib = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function others(snapshot: TreeSnapshotResult): string {
  const parts = Object.entries(snapshot.otherFindings)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length ? parts.join(', ') : '0';
}

/** True when a snapshot of an intact tree reads as it must: clean, nothing encrypted. */
export function treeSnapshotPasses(snapshot: TreeSnapshotResult): boolean {
  return snapshot.verdict === 'clean' && snapshot.encryptedStrong === 0 && snapshot.encryptedWeak === 0;
}

/** The table, one row per tree × layout × night, then PASS/MISS and the findings of every miss. */
export function formatTreeTable(results: readonly TreeResult[]): string[] {
  const header = [
    'tree',
    'layout',
    'night',
    'entries',
    'bytes',
    'strong enc',
    'weak enc',
    'other findings',
    'verdict',
    's',
  ];
  const rows = results.flatMap((r) =>
    (['first', 'second'] as const).map((night) => {
      const s = r[night];
      return [
        r.tree,
        r.layout,
        night === 'first' ? '1 (no history)' : '2 (history)',
        String(s.entries),
        gib(s.bytes),
        String(s.encryptedStrong),
        String(s.encryptedWeak),
        others(s),
        s.verdict,
        s.seconds.toFixed(0),
      ];
    }),
  );
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i <= 2 || i === 7 || i === 8 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  const failed = results.flatMap((r) =>
    (['first', 'second'] as const)
      .filter((night) => !treeSnapshotPasses(r[night]))
      .map((night) => ({ r, night })),
  );
  const lines = [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line), ''];
  lines.push(
    ...results
      .filter((r, i) => results.findIndex((o) => o.tree === r.tree) === i)
      .map((r) => `${r.tree}: ${r.label}`),
    '',
  );
  lines.push(
    `${failed.length === 0 ? 'PASS' : 'MISS'}  every intact real tree reads clean (0 strong, 0 weak encrypted, nothing suspicious), first night and steady state: ${results.length * 2 - failed.length}/${results.length * 2} snapshots`,
  );
  for (const { r, night } of failed) {
    lines.push(`  ${r.tree} (${r.layout}, ${night} night) → ${r[night].verdict}:`);
    for (const finding of r[night].examples)
      lines.push(`    ${finding.kind} ${finding.severity} ${finding.path}: ${finding.detail.slice(0, 240)}`);
  }
  return lines;
}
