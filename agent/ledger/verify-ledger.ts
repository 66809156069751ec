/**
 * Offline verification of a state directory's evidence: the hash chain, every record's ed25519
 * signature, key rotations, the signed head, the baseline manifests the chain binds by digest,
 * and triage records (an acceptance is well formed and a revocation revokes an earlier acceptance
 * of its set, once).
 * Needs no lock and writes nothing, so it runs against a live agent's state or a copy an auditor
 * was given.
 *
 * Trust: by default every public key in `STATE/keys/public/` is trusted (the state's own view).
 * An auditor pins the key they were given (`trustedKeys`, `vouch evidence verify --key FILE`):
 * then only it, and keys it introduced through signed rotation records, are trusted — a ledger
 * rewritten and re-signed with a key planted in the state directory fails.
 *
 * On failure the result names the first bad record and the problem, with its segment and line.
 * Seq numbers are the records' own; for a dropped record it is the missing seq, for a reordered
 * one the record found out of place. Each line must be byte for byte the canonical line of the
 * record it holds (record-line.ts), so whitespace, escapes, line endings and duplicate keys are
 * edits too. Time is linear in the ledger's size; memory is bounded by the longest line, and a
 * line over the record limit is named without being buffered.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createTriageChecker } from './acceptance-records.js';
import { createChainChecker, GENESIS_HASH, parseRecordLine, type LedgerRecord } from './ledger-record.js';
import { headSignatureValid, recordSignatureValid, type LedgerHead } from './record-signature.js';
import { checkAgainstAnchor, type AnchorCheck } from './anchor-check.js';
import type { HeadAnchor } from './anchored-head.js';
import { MAX_RECORD_LINE_BYTES, nonCanonicalReason } from './record-line.js';
import { describePublicKey, storedPublicKeys, type PublicKeyInfo } from './signing-key.js';
import { readHeadFile, readStoredLines } from './ledger-store.js';

/** What can be wrong with evidence. */
export type LedgerProblem =
  | 'edited'
  | 'dropped'
  | 'reordered'
  | 'replayed'
  | 'broken-link'
  | 'malformed'
  | 'non-canonical'
  | 'unsigned'
  | 'bad-signature'
  | 'unknown-key'
  | 'truncated'
  | 'head-missing'
  | 'head-unreadable'
  | 'head-mismatch'
  | 'manifest-changed'
  | 'manifest-missing'
  | 'behind-anchor'
  | 'anchor-mismatch';

/** The first bad record (or head, or manifest). */
export interface BadRecord {
  seq: number;
  problem: LedgerProblem;
  /** One sentence: what is wrong and what was expected. */
  detail: string;
  /** Where it is stored: segment file name and 1-based line, when it is a stored record. */
  segment?: string;
  line?: number;
  /** Set when the problem is with `ledger/head.json`, not a stored record (the chain itself verified). */
  head?: true;
}

/** An explicit recovery an operator recorded (`vouch evidence recover-head`, `rotate-key --lost`). */
export interface RecordedRecovery {
  seq: number;
  type: 'head-recovered' | 'key-replaced';
  time: string;
  /** What the recovery found, as it recorded it. */
  detail: string;
}

/** Result of `verifyLedger`. */
export interface LedgerVerification {
  ok: boolean;
  /** Complete records read (a torn last line is not counted). */
  records: number;
  firstBad?: BadRecord;
  /** Fingerprints (SHA-256 of SPKI, hex) of the keys that signed records, in order of first use. */
  keyFingerprints: string[];
  /** Where trust came from: pinned keys, or the state directory's own `keys/public/`. */
  trust: 'pinned' | 'state';
  /** Unsigned records written before signing existed, covered by the chain of the first signed record. */
  legacyUnsigned: number;
  /** The last line was cut by a crash mid-append (it is ignored; the next append removes it). */
  tornTail: boolean;
  /** The signed head as found. */
  head: Omit<LedgerHead, 'sig' | 'v'> | null;
  /** Baseline manifests checked against the digests the chain records, and any that differ. */
  manifests: { checked: number; problems: BadRecord[] };
  /** Recoveries recorded in the chain (they verify, but an auditor should read them). */
  recoveries: RecordedRecovery[];
  /** The check against anchored heads, when an anchor was given. */
  anchor?: AnchorCheck;
}

/** Options of `verifyLedger`. */
export interface VerifyLedgerOptions {
  /** PEM public keys to trust instead of `keys/public/` (an auditor's pinned key). */
  trustedKeys?: string[];
  /** Hash every baseline manifest the chain names (default true; metrics pass false for speed). */
  checkManifests?: boolean;
  /** Also prove the ledger is not behind any head anchored here (the caller closes it). */
  anchor?: HeadAnchor;
}

async function fileSha256(file: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return hash.digest('hex');
}

/** Key trust while walking the chain: trusted keys, and keys retired by a rotation. */
class KeyTrust {
  private readonly retiredAt = new Map<string, number>();
  readonly used: string[] = [];

  constructor(private readonly trusted: Map<string, PublicKeyInfo>) {}

  /** The key for a record signed by `keyId` at `seq`, or why it cannot be used. */
  lookup(keyId: string): PublicKeyInfo | string {
    const retired = this.retiredAt.get(keyId);
    if (retired !== undefined)
      return `signed by key ${keyId}, which was retired by the rotation at seq ${retired}`;
    const key = this.trusted.get(keyId);
    if (!key)
      return `signed by key ${keyId}, which is not among the trusted keys (${[...this.trusted.keys()].join(', ') || 'none'})`;
    if (!this.used.includes(key.fingerprint)) this.used.push(key.fingerprint);
    return key;
  }

  /** Applies a verified rotation record; returns why it is malformed, or null. */
  rotate(record: LedgerRecord): string | null {
    const data = record.data as { previousKeyId?: unknown; keyId?: unknown; publicKey?: unknown };
    if (typeof data?.publicKey !== 'string' || typeof data.keyId !== 'string')
      return 'key rotation record lacks keyId/publicKey';
    let introduced: PublicKeyInfo;
    try {
      introduced = describePublicKey(data.publicKey);
    } catch {
      return 'key rotation record holds no ed25519 public key';
    }
    if (introduced.keyId !== data.keyId)
      return `key rotation names key ${data.keyId} but holds key ${introduced.keyId}`;
    if (data.previousKeyId !== record.keyId)
      return `key rotation is signed by ${record.keyId} but names ${String(data.previousKeyId)} as the previous key`;
    this.trusted.set(introduced.keyId, introduced);
    this.retiredAt.set(record.keyId!, record.seq);
    return null;
  }

  /**
   * Applies a verified `key-replaced` record (a lost key replaced; the record is signed by the new
   * key itself, which must therefore already be trusted); returns why it is malformed, or null.
   */
  replace(record: LedgerRecord): string | null {
    const data = record.data as { previousKeyId?: unknown; keyId?: unknown; publicKey?: unknown };
    if (typeof data?.publicKey !== 'string' || data.keyId !== record.keyId)
      return 'key replacement record must name and hold the key that signs it';
    try {
      if (describePublicKey(data.publicKey).keyId !== record.keyId)
        return `key replacement names key ${record.keyId} but holds another key`;
    } catch {
      return 'key replacement record holds no ed25519 public key';
    }
    if (typeof data.previousKeyId === 'string' && data.previousKeyId !== record.keyId)
      this.retiredAt.set(data.previousKeyId, record.seq);
    return null;
  }
}

function recoveryDetail(record: LedgerRecord): string {
  const data = (record.data ?? {}) as {
    found?: unknown;
    reason?: unknown;
    detail?: unknown;
    previousKeyId?: unknown;
    keyId?: unknown;
  };
  const parts: string[] = [];
  if (typeof data.reason === 'string') parts.push(data.reason);
  if (typeof data.detail === 'string') parts.push(data.detail);
  if (record.type === 'key-replaced')
    parts.push(`key ${String(data.previousKeyId)} replaced by ${String(data.keyId)}`);
  return parts.join(': ');
}

/** Verifies the evidence in `stateDir` (see the module comment). Never throws for bad evidence. */
export async function verifyLedger(
  stateDir: string,
  options: VerifyLedgerOptions = {},
): Promise<LedgerVerification> {
  const pinned = options.trustedKeys?.length
    ? options.trustedKeys.map((pem) => describePublicKey(pem))
    : null;
  const trust = new KeyTrust(
    pinned ? new Map(pinned.map((key) => [key.keyId, key])) : await storedPublicKeys(stateDir),
  );
  let head: LedgerHead | null = null;
  let headUnreadable: string | null = null;
  try {
    const found = await readHeadFile(stateDir);
    if (found.state === 'present') head = found.head;
    else if (found.state === 'unreadable') headUnreadable = found.detail;
  } catch (error) {
    headUnreadable = (error as Error).message;
  }

  // First pass: which seqs exist, to tell a dropped record from a reordered one.
  const present = new Set<number>();
  for await (const stored of readStoredLines(stateDir)) {
    const seq =
      stored.complete && stored.bytes ? parseRecordLine(stored.bytes.toString('utf8'))?.seq : undefined;
    if (typeof seq === 'number') present.add(seq);
  }

  const result: LedgerVerification = {
    ok: false,
    records: 0,
    keyFingerprints: [],
    trust: pinned ? 'pinned' : 'state',
    legacyUnsigned: 0,
    tornTail: false,
    head: head ? { seq: head.seq, hash: head.hash, time: head.time, keyId: head.keyId } : null,
    manifests: { checked: 0, problems: [] },
    recoveries: [],
  };
  const checker = createChainChecker();
  const triage = createTriageChecker();
  const baselines: { seq: number; manifest: string; sha256: string }[] = [];
  let signed = 0;
  let hashAtHead: string | null = null;
  let position = 0;
  let firstBad: BadRecord | undefined;

  for await (const stored of readStoredLines(stateDir)) {
    if (!stored.complete) {
      result.tornTail = true;
      break;
    }
    position++;
    const at = { segment: stored.segment, line: stored.line };
    const expectedSeq = (checker.head()?.seq ?? 0) + 1;
    if (!stored.bytes) {
      firstBad = {
        seq: expectedSeq,
        problem: 'malformed',
        detail: `${stored.segment} line ${stored.line} is ${stored.length} bytes long, over the ${MAX_RECORD_LINE_BYTES}-byte limit of a ledger record`,
        ...at,
      };
      break;
    }
    const record = stored.bytes.length ? parseRecordLine(stored.bytes.toString('utf8')) : null;
    if (!record) {
      firstBad = {
        seq: expectedSeq,
        problem: 'malformed',
        detail: `${stored.segment} line ${stored.line} ${stored.bytes.length ? 'is not a JSON record' : 'is blank'}`,
        ...at,
      };
      break;
    }
    const nonCanonical = nonCanonicalReason(stored.bytes, record);
    if (nonCanonical) {
      firstBad = {
        seq: typeof record.seq === 'number' ? record.seq : expectedSeq,
        problem: 'non-canonical',
        detail: `${stored.segment} line ${stored.line}: ${nonCanonical}`,
        ...at,
      };
      break;
    }
    result.records++;
    const broken = checker.check(record, position);
    if (broken) {
      let problem: LedgerProblem = broken.problem === 'dropped-or-reordered' ? 'reordered' : broken.problem;
      let seq = broken.seq;
      let detail = broken.detail;
      if (broken.problem === 'dropped-or-reordered') {
        const expected = (checker.head()?.seq ?? 0) + 1;
        if (record.seq > expected && !present.has(expected)) {
          problem = 'dropped';
          seq = expected;
          detail = `record ${expected} is missing: record ${record.seq} follows record ${expected - 1}`;
        } else {
          detail = `record ${record.seq} is stored where record ${expected} belongs`;
        }
      }
      firstBad = { seq, problem, detail, ...at };
      break;
    }
    if (record.keyId === undefined && record.sig === undefined) {
      if (signed > 0) {
        firstBad = {
          seq: record.seq,
          problem: 'unsigned',
          detail: 'record carries no signature, but earlier records are signed',
          ...at,
        };
        break;
      }
      result.legacyUnsigned++;
    } else {
      const key = trust.lookup(String(record.keyId));
      if (typeof key === 'string') {
        const replaced =
          record.type === 'key-replaced'
            ? `: this record declares the previous signing key lost and introduces key ${String(record.keyId)}, which only it vouches for — check the record and pin the new key (vouch evidence export-key) if you accept the replacement`
            : '';
        firstBad = { seq: record.seq, problem: 'unknown-key', detail: key + replaced, ...at };
        break;
      }
      if (!recordSignatureValid(record, key.key)) {
        firstBad = {
          seq: record.seq,
          problem: 'bad-signature',
          detail: `signature does not verify with key ${key.keyId}`,
          ...at,
        };
        break;
      }
      signed++;
      if (record.type === 'key-rotation' || record.type === 'key-replaced') {
        const malformed = record.type === 'key-rotation' ? trust.rotate(record) : trust.replace(record);
        if (malformed) {
          firstBad = { seq: record.seq, problem: 'malformed', detail: malformed, ...at };
          break;
        }
      }
    }
    const triageProblem = triage.check(record);
    if (triageProblem) {
      firstBad = { seq: record.seq, problem: 'malformed', detail: triageProblem, ...at };
      break;
    }
    if (record.type === 'head-recovered' || record.type === 'key-replaced') {
      result.recoveries.push({
        seq: record.seq,
        type: record.type,
        time: record.time,
        detail: recoveryDetail(record),
      });
    }
    if (record.type === 'baseline') {
      const data = record.data as { manifest?: unknown; sha256?: unknown };
      if (typeof data?.manifest === 'string' && typeof data.sha256 === 'string')
        baselines.push({ seq: record.seq, manifest: data.manifest, sha256: data.sha256 });
    }
    if (head && record.seq === head.seq) hashAtHead = record.hash;
  }
  if (head?.seq === 0) hashAtHead = GENESIS_HASH;
  result.keyFingerprints = trust.used;

  const last = checker.head();
  if (!firstBad && result.records > 0 && signed === 0) {
    firstBad = {
      seq: 1,
      problem: 'unsigned',
      detail: 'no record is signed, so nothing proves who wrote the ledger',
    };
  }
  if (!firstBad && headUnreadable !== null) {
    firstBad = {
      seq: last?.seq ?? 0,
      problem: 'head-unreadable',
      detail: `ledger/head.json is unreadable (${headUnreadable}): nothing shows whether records were cut off the end`,
      head: true,
    };
  } else if (!firstBad && signed > 0 && !head) {
    firstBad = {
      seq: last?.seq ?? 0,
      problem: 'head-missing',
      detail: 'ledger/head.json is missing: nothing shows whether records were cut off the end',
      head: true,
    };
  } else if (!firstBad && head) {
    const key = trust.lookup(head.keyId);
    if (typeof key === 'string') {
      firstBad = { seq: head.seq, problem: 'unknown-key', detail: `signed head: ${key}`, head: true };
    } else if (!headSignatureValid(head, key.key)) {
      firstBad = {
        seq: head.seq,
        problem: 'bad-signature',
        detail: `signed head: signature does not verify with key ${key.keyId}`,
        head: true,
      };
    } else if (head.seq > (last?.seq ?? 0)) {
      const from = (last?.seq ?? 0) + 1;
      firstBad = {
        seq: from,
        problem: 'truncated',
        detail: `the signed head (written ${head.time}) records seq ${head.seq}, but the ledger ends at seq ${last?.seq ?? 0}: records ${from}–${head.seq} were cut off`,
        head: true,
      };
    } else if (hashAtHead !== head.hash) {
      firstBad = {
        seq: head.seq,
        problem: 'head-mismatch',
        detail: `record ${head.seq} is not the one the signed head (written ${head.time}) recorded`,
        head: true,
      };
    } else if ((last?.seq ?? 0) - head.seq > 1) {
      // Every append rewrites the head right after its record; a crash in between leaves it one
      // behind, never more. An older head put back would hide records cut off the end.
      firstBad = {
        seq: head.seq + 1,
        problem: 'head-mismatch',
        detail: `the signed head (written ${head.time}) records seq ${head.seq}, but the ledger goes on to seq ${last?.seq ?? 0}: an append leaves it at most one behind, so an older head was put back`,
        head: true,
      };
    }
  }

  if (options.checkManifests ?? true) {
    const root = path.resolve(stateDir);
    for (const baseline of baselines) {
      const file = path.resolve(root, baseline.manifest);
      if (!file.startsWith(root + path.sep)) continue;
      result.manifests.checked++;
      const digest = await fileSha256(file);
      if (digest === null) {
        result.manifests.problems.push({
          seq: baseline.seq,
          problem: 'manifest-missing',
          detail: `manifest ${baseline.manifest} bound by record ${baseline.seq} is missing`,
        });
      } else if (digest !== baseline.sha256) {
        result.manifests.problems.push({
          seq: baseline.seq,
          problem: 'manifest-changed',
          detail: `manifest ${baseline.manifest} has SHA-256 ${digest.slice(0, 16)}…, record ${baseline.seq} bound ${baseline.sha256.slice(0, 16)}…`,
        });
      }
    }
  }
  if (options.anchor) {
    const keys = await storedPublicKeys(stateDir);
    for (const key of pinned ?? []) keys.set(key.keyId, key);
    result.anchor = await checkAgainstAnchor(stateDir, options.anchor, keys);
    firstBad ??= result.anchor.problems[0];
  }
  firstBad ??= result.manifests.problems[0];
  if (firstBad) result.firstBad = firstBad;
  result.ok = !firstBad;
  return result;
}
