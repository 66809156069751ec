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
import {
  createChainChecker,
  GENESIS_HASH,
  parseRecordLine,
  type ChainBreak,
  type LedgerRecord,
} from './ledger-record.js';
import { headSignatureValid, recordSignatureValid, type LedgerHead } from './record-signature.js';
import { checkAgainstAnchor, type AnchorCheck } from './anchor-check.js';
import type { HeadAnchor } from './anchored-head.js';
import { MAX_RECORD_LINE_BYTES, nonCanonicalReason } from './record-line.js';
import { describePublicKey, storedPublicKeys, type PublicKeyInfo } from './signing-key.js';
import { readHeadFile, readStoredLines, type StoredLine } from './ledger-store.js';

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

/** Where a stored record sits, for a BadRecord. */
type At = Pick<BadRecord, 'segment' | 'line'>;

/**
 * The keys trusted at the start of the chain: the pinned PEM keys when any are given (an auditor's
 * view), else every public key in `keys/public/` (the state's own view). Throws only for a pinned
 * key that is not an ed25519 public key.
 */
async function initialTrust(
  stateDir: string,
  trustedKeys: string[] | undefined,
): Promise<{ pinned: PublicKeyInfo[] | null; trust: KeyTrust }> {
  const pinned = trustedKeys?.length ? trustedKeys.map((pem) => describePublicKey(pem)) : null;
  const trust = new KeyTrust(
    pinned ? new Map(pinned.map((key) => [key.keyId, key])) : await storedPublicKeys(stateDir),
  );
  return { pinned, trust };
}

/**
 * `ledger/head.json` as found: the signed head when present and well formed; otherwise null, with
 * why it is unreadable when it exists but cannot be read or parsed (null when it is just missing).
 * Never throws: an error reading it is reported as unreadable.
 */
async function readHead(stateDir: string): Promise<{ head: LedgerHead | null; unreadable: string | null }> {
  try {
    const found = await readHeadFile(stateDir);
    if (found.state === 'present') return { head: found.head, unreadable: null };
    if (found.state === 'unreadable') return { head: null, unreadable: found.detail };
    return { head: null, unreadable: null };
  } catch (error) {
    return { head: null, unreadable: (error as Error).message };
  }
}

/**
 * The seqs of every complete, parseable stored line (a first pass over the ledger), so the walk
 * can tell a dropped record (its seq is nowhere) from a reordered one (it is stored elsewhere).
 */
async function storedSeqs(stateDir: string): Promise<Set<number>> {
  const present = new Set<number>();
  for await (const stored of readStoredLines(stateDir)) {
    const seq =
      stored.complete && stored.bytes ? parseRecordLine(stored.bytes.toString('utf8'))?.seq : undefined;
    if (typeof seq === 'number') present.add(seq);
  }
  return present;
}

/**
 * One complete stored line as a record, or the problem with the line itself: over the record
 * size limit, not a JSON record, blank, or not byte for byte the canonical line of its record.
 * `expectedSeq` names the problem when the line holds no seq of its own.
 */
function recordOfLine(
  stored: StoredLine,
  expectedSeq: number,
): { record: LedgerRecord } | { bad: BadRecord } {
  const at: At = { segment: stored.segment, line: stored.line };
  if (!stored.bytes) {
    const bad: BadRecord = {
      seq: expectedSeq,
      problem: 'malformed',
      detail: `${stored.segment} line ${stored.line} is ${stored.length} bytes long, over the ${MAX_RECORD_LINE_BYTES}-byte limit of a ledger record`,
      ...at,
    };
    return { bad };
  }
  const record = stored.bytes.length ? parseRecordLine(stored.bytes.toString('utf8')) : null;
  if (!record) {
    const bad: BadRecord = {
      seq: expectedSeq,
      problem: 'malformed',
      detail: `${stored.segment} line ${stored.line} ${stored.bytes.length ? 'is not a JSON record' : 'is blank'}`,
      ...at,
    };
    return { bad };
  }
  const nonCanonical = nonCanonicalReason(stored.bytes, record);
  if (nonCanonical) {
    const bad: BadRecord = {
      seq: typeof record.seq === 'number' ? record.seq : expectedSeq,
      problem: 'non-canonical',
      detail: `${stored.segment} line ${stored.line}: ${nonCanonical}`,
      ...at,
    };
    return { bad };
  }
  return { record };
}

/**
 * A break in the hash chain as a BadRecord. An out-of-sequence record is `dropped` when the seq
 * that belongs here (`expectedSeq`, one past the chain's head) is stored nowhere (`present`) and
 * the record jumps ahead of it; otherwise `reordered`. Pure.
 */
function chainBreakProblem(
  broken: ChainBreak,
  record: LedgerRecord,
  expectedSeq: number,
  present: ReadonlySet<number>,
  at: At,
): BadRecord {
  if (broken.problem !== 'dropped-or-reordered')
    return { seq: broken.seq, problem: broken.problem, detail: broken.detail, ...at };
  if (record.seq > expectedSeq && !present.has(expectedSeq)) {
    return {
      seq: expectedSeq,
      problem: 'dropped',
      detail: `record ${expectedSeq} is missing: record ${record.seq} follows record ${expectedSeq - 1}`,
      ...at,
    };
  }
  return {
    seq: broken.seq,
    problem: 'reordered',
    detail: `record ${record.seq} is stored where record ${expectedSeq} belongs`,
    ...at,
  };
}

/**
 * The signature of one chained record: `legacy` for an unsigned record while no record before it
 * was signed (`signedBefore` is false), `signed` when it verifies with a trusted key that is not
 * retired, else the problem (`unsigned` after signed records, `unknown-key`, `bad-signature`, or
 * a malformed key rotation or replacement). A verified rotation or replacement updates `trust`.
 */
function signatureProblem(
  record: LedgerRecord,
  trust: KeyTrust,
  signedBefore: boolean,
  at: At,
): 'legacy' | 'signed' | BadRecord {
  if (record.keyId === undefined && record.sig === undefined) {
    if (!signedBefore) return 'legacy';
    return {
      seq: record.seq,
      problem: 'unsigned',
      detail: 'record carries no signature, but earlier records are signed',
      ...at,
    };
  }
  const key = trust.lookup(String(record.keyId));
  if (typeof key === 'string') {
    const replaced =
      record.type === 'key-replaced'
        ? `: this record declares the previous signing key lost and introduces key ${String(record.keyId)}, which only it vouches for — check the record and pin the new key (vouch evidence export-key) if you accept the replacement`
        : '';
    return { seq: record.seq, problem: 'unknown-key', detail: key + replaced, ...at };
  }
  if (!recordSignatureValid(record, key.key)) {
    return {
      seq: record.seq,
      problem: 'bad-signature',
      detail: `signature does not verify with key ${key.keyId}`,
      ...at,
    };
  }
  if (record.type === 'key-rotation' || record.type === 'key-replaced') {
    const malformed = record.type === 'key-rotation' ? trust.rotate(record) : trust.replace(record);
    if (malformed) return { seq: record.seq, problem: 'malformed', detail: malformed, ...at };
  }
  return 'signed';
}

/** A baseline manifest the chain binds by digest. */
interface BoundManifest {
  seq: number;
  manifest: string;
  sha256: string;
}

/** What the walk over the stored records found. */
interface ChainWalk {
  /** Complete records read up to and including the first bad one. */
  records: number;
  legacyUnsigned: number;
  signed: number;
  tornTail: boolean;
  /** The last record that chained, or null when none did. */
  last: { seq: number; hash: string } | null;
  /** The hash of the record at `headSeq` (the genesis hash for seq 0), or null when none was reached. */
  hashAtHead: string | null;
  firstBad?: BadRecord;
  recoveries: RecordedRecovery[];
  baselines: BoundManifest[];
}

/**
 * Walks the stored records in order, stopping at the first bad one: each line is a canonical
 * record (recordOfLine), chains to the one before (chainBreakProblem), is signed by a trusted key
 * (signatureProblem, which applies key rotations to `trust`), and is well-formed triage. Collects
 * the recorded recoveries, the baseline manifests bound by digest, and the hash of the record the
 * signed head names (`headSeq`). A torn last line ends the walk without a problem.
 */
async function walkChain(
  stateDir: string,
  present: ReadonlySet<number>,
  trust: KeyTrust,
  headSeq: number | undefined,
): Promise<ChainWalk> {
  const walk: ChainWalk = {
    records: 0,
    legacyUnsigned: 0,
    signed: 0,
    tornTail: false,
    last: null,
    hashAtHead: null,
    recoveries: [],
    baselines: [],
  };
  const checker = createChainChecker();
  const triage = createTriageChecker();
  let position = 0;
  for await (const stored of readStoredLines(stateDir)) {
    if (!stored.complete) {
      walk.tornTail = true;
      break;
    }
    position++;
    const at: At = { segment: stored.segment, line: stored.line };
    const expectedSeq = (checker.head()?.seq ?? 0) + 1;
    const line = recordOfLine(stored, expectedSeq);
    if ('bad' in line) {
      walk.firstBad = line.bad;
      break;
    }
    const { record } = line;
    walk.records++;
    const broken = checker.check(record, position);
    if (broken) {
      walk.firstBad = chainBreakProblem(broken, record, expectedSeq, present, at);
      break;
    }
    const signature = signatureProblem(record, trust, walk.signed > 0, at);
    if (signature === 'legacy') walk.legacyUnsigned++;
    else if (signature === 'signed') walk.signed++;
    else {
      walk.firstBad = signature;
      break;
    }
    const triageProblem = triage.check(record);
    if (triageProblem) {
      walk.firstBad = { seq: record.seq, problem: 'malformed', detail: triageProblem, ...at };
      break;
    }
    if (record.type === 'head-recovered' || record.type === 'key-replaced') {
      walk.recoveries.push({
        seq: record.seq,
        type: record.type,
        time: record.time,
        detail: recoveryDetail(record),
      });
    }
    if (record.type === 'baseline') {
      const data = record.data as { manifest?: unknown; sha256?: unknown };
      if (typeof data?.manifest === 'string' && typeof data.sha256 === 'string')
        walk.baselines.push({ seq: record.seq, manifest: data.manifest, sha256: data.sha256 });
    }
    if (record.seq === headSeq) walk.hashAtHead = record.hash;
  }
  if (headSeq === 0) walk.hashAtHead = GENESIS_HASH;
  walk.last = checker.head();
  return walk;
}

/**
 * The problem with a chain that walked clean but whose records are all unsigned (nothing proves
 * who wrote them), or null. An empty ledger has none.
 */
function unsignedLedgerProblem(walk: ChainWalk): BadRecord | null {
  if (walk.records > 0 && walk.signed === 0)
    return {
      seq: 1,
      problem: 'unsigned',
      detail: 'no record is signed, so nothing proves who wrote the ledger',
    };
  return null;
}

/**
 * The problem with the signed head of a chain that verified, or null: unreadable; missing while
 * records are signed; signed by an unknown or retired key, or with a bad signature; ahead of the
 * ledger (records cut off the end); naming another record than the one at its seq; or more than
 * one record behind (an older head put back). Looks the head's key up in `trust` (which records
 * its fingerprint as used).
 */
function headProblem(
  found: { head: LedgerHead | null; unreadable: string | null },
  walk: ChainWalk,
  trust: KeyTrust,
): BadRecord | null {
  const { head, unreadable } = found;
  const lastSeq = walk.last?.seq ?? 0;
  if (unreadable !== null) {
    return {
      seq: lastSeq,
      problem: 'head-unreadable',
      detail: `ledger/head.json is unreadable (${unreadable}): nothing shows whether records were cut off the end`,
      head: true,
    };
  }
  if (!head) {
    if (walk.signed === 0) return null;
    return {
      seq: lastSeq,
      problem: 'head-missing',
      detail: 'ledger/head.json is missing: nothing shows whether records were cut off the end',
      head: true,
    };
  }
  const key = trust.lookup(head.keyId);
  if (typeof key === 'string')
    return { seq: head.seq, problem: 'unknown-key', detail: `signed head: ${key}`, head: true };
  if (!headSignatureValid(head, key.key)) {
    return {
      seq: head.seq,
      problem: 'bad-signature',
      detail: `signed head: signature does not verify with key ${key.keyId}`,
      head: true,
    };
  }
  if (head.seq > lastSeq) {
    const from = lastSeq + 1;
    return {
      seq: from,
      problem: 'truncated',
      detail: `the signed head (written ${head.time}) records seq ${head.seq}, but the ledger ends at seq ${lastSeq}: records ${from}–${head.seq} were cut off`,
      head: true,
    };
  }
  if (walk.hashAtHead !== head.hash) {
    return {
      seq: head.seq,
      problem: 'head-mismatch',
      detail: `record ${head.seq} is not the one the signed head (written ${head.time}) recorded`,
      head: true,
    };
  }
  if (lastSeq - head.seq > 1) {
    // Every append rewrites the head right after its record; a crash in between leaves it one
    // behind, never more. An older head put back would hide records cut off the end.
    return {
      seq: head.seq + 1,
      problem: 'head-mismatch',
      detail: `the signed head (written ${head.time}) records seq ${head.seq}, but the ledger goes on to seq ${lastSeq}: an append leaves it at most one behind, so an older head was put back`,
      head: true,
    };
  }
  return null;
}

/**
 * Hashes each baseline manifest the chain binds and compares it with the recorded digest, in
 * chain order; a manifest path that resolves outside `stateDir` is skipped (not counted). Every
 * problem is returned (`manifest-missing`, `manifest-changed`), not just the first.
 */
async function checkManifests(
  stateDir: string,
  baselines: readonly BoundManifest[],
): Promise<LedgerVerification['manifests']> {
  const manifests: LedgerVerification['manifests'] = { checked: 0, problems: [] };
  const root = path.resolve(stateDir);
  for (const baseline of baselines) {
    const file = path.resolve(root, baseline.manifest);
    if (!file.startsWith(root + path.sep)) continue;
    manifests.checked++;
    const digest = await fileSha256(file);
    if (digest === null) {
      manifests.problems.push({
        seq: baseline.seq,
        problem: 'manifest-missing',
        detail: `manifest ${baseline.manifest} bound by record ${baseline.seq} is missing`,
      });
    } else if (digest !== baseline.sha256) {
      manifests.problems.push({
        seq: baseline.seq,
        problem: 'manifest-changed',
        detail: `manifest ${baseline.manifest} has SHA-256 ${digest.slice(0, 16)}…, record ${baseline.seq} bound ${baseline.sha256.slice(0, 16)}…`,
      });
    }
  }
  return manifests;
}

/**
 * The ledger checked against the heads anchored in `anchor`, trusting every key in `keys/public/`
 * plus the pinned ones (an anchored head may be signed by a key since rotated away).
 */
async function checkAnchor(
  stateDir: string,
  anchor: HeadAnchor,
  pinned: readonly PublicKeyInfo[] | null,
): Promise<AnchorCheck> {
  const keys = await storedPublicKeys(stateDir);
  for (const key of pinned ?? []) keys.set(key.keyId, key);
  return checkAgainstAnchor(stateDir, anchor, keys);
}

/**
 * Verifies the evidence in `stateDir` (see the module comment). Never throws for bad evidence.
 * The first problem wins in this order: the chain walk (lines, links, signatures, rotations,
 * triage), an all-unsigned ledger, the signed head, the anchor, then the manifests (which are
 * all checked and listed regardless).
 */
export async function verifyLedger(
  stateDir: string,
  options: VerifyLedgerOptions = {},
): Promise<LedgerVerification> {
  const { pinned, trust } = await initialTrust(stateDir, options.trustedKeys);
  const found = await readHead(stateDir);
  const { head } = found;
  const present = await storedSeqs(stateDir);
  const walk = await walkChain(stateDir, present, trust, head?.seq);
  let firstBad = walk.firstBad ?? unsignedLedgerProblem(walk) ?? headProblem(found, walk, trust) ?? undefined;

  const result: LedgerVerification = {
    ok: false,
    records: walk.records,
    keyFingerprints: trust.used,
    trust: pinned ? 'pinned' : 'state',
    legacyUnsigned: walk.legacyUnsigned,
    tornTail: walk.tornTail,
    head: head ? { seq: head.seq, hash: head.hash, time: head.time, keyId: head.keyId } : null,
    manifests:
      (options.checkManifests ?? true)
        ? await checkManifests(stateDir, walk.baselines)
        : { checked: 0, problems: [] },
    recoveries: walk.recoveries,
  };
  if (options.anchor) {
    result.anchor = await checkAnchor(stateDir, options.anchor, pinned);
    firstBad ??= result.anchor.problems[0];
  }
  firstBad ??= result.manifests.problems[0];
  if (firstBad) result.firstBad = firstBad;
  result.ok = !firstBad;
  return result;
}
