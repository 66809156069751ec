/** Verifies snapshots against checksum lists the backup tool left beside or inside them. */
import path from 'node:path/posix';
import type { DigestAlgorithm } from '../model/manifest.js';
import { describeError } from '../errors.js';
import { parseSumsFile } from '../integrity/sums-file.js';
import type { BackupSource } from '../sources/backup-source.js';
import type { Snapshot, SumsReference } from '../sources/snapshot-discovery.js';
import type { Finding } from '../model/findings.js';
import type { FindingsCollector } from './findings-collector.js';

/** A parsed checksum list. Key `*` holds a bare digest (a sidecar with no name). */
export interface SumsTable extends SumsReference {
  sums: Map<string, string>;
}

const MAX_SUMS_BYTES = 64 * 2 ** 20;
const BARE_DIGEST = /^\s*([0-9a-fA-F]{64})\s*$/;

async function readSmallObject(source: BackupSource, key: string): Promise<string> {
  const { stream } = await source.open(key);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SUMS_BYTES) {
      stream.destroy();
      throw new Error(`larger than ${MAX_SUMS_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads every checksum list referenced by the snapshot; unreadable ones become read-error findings. */
export async function loadSumsTables(
  source: BackupSource,
  snapshot: Snapshot,
  collector: FindingsCollector,
): Promise<SumsTable[]> {
  const tables: SumsTable[] = [];
  for (const reference of snapshot.sums) {
    try {
      const text = await readSmallObject(source, reference.key);
      const bare = BARE_DIGEST.exec(text);
      const sums = bare ? new Map([['*', bare[1]!.toLowerCase()]]) : parseSumsFile(text);
      tables.push({ ...reference, sums });
    } catch (error) {
      collector.add({
        kind: 'read-error',
        path: reference.key,
        severity: 'warning',
        detail: `checksum list unreadable: ${describeError(error)}`,
      });
    }
  }
  return tables;
}

/** What the scan computed, for comparison with the lists. */
export interface ComputedDigests {
  snapshot: Snapshot;
  /** Whole-object digest in `objectAlgorithm`, when the object was read end to end. */
  objectDigest: string | undefined;
  objectAlgorithm: DigestAlgorithm;
  /** Entry path → algorithm → digest, for entries of directory snapshots. */
  entryDigests: Map<string, Map<DigestAlgorithm, string>>;
  complete: boolean;
}

/** Findings for every disagreement between the lists and what was read (pure). */
export function checkSums(tables: readonly SumsTable[], computed: ComputedDigests): Finding[] {
  const findings: Finding[] = [];
  const { snapshot } = computed;
  for (const table of tables) {
    const listName = path.basename(table.key);
    if (table.scope === 'object') {
      // Discovery gives object-scope lists to archive snapshots only.
      if (snapshot.layout !== 'archive') continue;
      const object = snapshot.object;
      const expected = table.sums.get(path.basename(object.key)) ?? table.sums.get('*');
      if (!expected || computed.objectDigest === undefined || table.algorithm !== computed.objectAlgorithm)
        continue;
      if (expected !== computed.objectDigest) {
        findings.push({
          kind: 'sums-mismatch',
          path: object.key,
          severity: 'critical',
          detail: `${listName} says ${expected.slice(0, 12)}…, the object hashes to ${computed.objectDigest.slice(0, 12)}…`,
        });
      }
      continue;
    }
    for (const [name, expected] of table.sums) {
      const actual = computed.entryDigests.get(name)?.get(table.algorithm);
      if (actual === undefined) {
        if (computed.complete) {
          findings.push({
            kind: 'sums-mismatch',
            path: name,
            severity: 'critical',
            detail: `listed in ${listName} but not in the snapshot`,
          });
        }
      } else if (actual !== expected) {
        findings.push({
          kind: 'sums-mismatch',
          path: name,
          severity: 'critical',
          detail: `${listName} says ${expected.slice(0, 12)}…, the file hashes to ${actual.slice(0, 12)}…`,
        });
      }
    }
  }
  return findings;
}
