/**
 * Is the local ledger behind an anchored head? (`vouch evidence verify --anchor`.) Every head the
 * anchor holds with a valid signature must name a record the local ledger still has, with the same
 * hash: a missing seq means records were cut off the end (and a head re-signed over the rest), a
 * different hash means the ledger was rewritten from there. Anchored heads whose signature does
 * not verify prove nothing either way; they are reported, not trusted.
 */
import { describeError } from '../errors.js';
import { readLedger } from './ledger-store.js';
import type { HeadAnchor } from './anchored-head.js';
import { headSignatureValid } from './record-signature.js';
import type { PublicKeyInfo } from './signing-key.js';

/** What the anchor check found. */
export interface AnchorCheck {
  /** Where the heads are anchored. */
  location: string;
  /** Heads the anchor holds. */
  heads: number;
  /** The newest anchored head that verifies, or null. */
  newest: { seq: number; hash: string; time: string } | null;
  /** The local ledger's last seq. */
  localSeq: number;
  /** Anchored heads the local ledger contradicts (`behind-anchor`, `anchor-mismatch`), oldest first. */
  problems: { seq: number; problem: 'behind-anchor' | 'anchor-mismatch'; detail: string }[];
  /** Heads ignored because their signature does not verify, and other remarks. */
  notes: string[];
}

/** Checks the ledger in `stateDir` against every head in `anchor`; `keys` are the public keys trusted to sign heads. */
export async function checkAgainstAnchor(
  stateDir: string,
  anchor: HeadAnchor,
  keys: ReadonlyMap<string, PublicKeyInfo>,
): Promise<AnchorCheck> {
  const result: AnchorCheck = {
    location: anchor.location,
    heads: 0,
    newest: null,
    localSeq: 0,
    problems: [],
    notes: [],
  };
  let names;
  try {
    names = await anchor.list();
  } catch (error) {
    result.problems.push({
      seq: 0,
      problem: 'behind-anchor',
      detail: `the anchor ${anchor.location} cannot be read: ${describeError(error)} (nothing proves the ledger is not behind it)`,
    });
    return result;
  }
  result.heads = names.length;
  const wanted = new Set(names.map((name) => name.seq));
  const local = new Map<number, string>();
  for await (const record of readLedger(stateDir)) {
    if (!record || typeof record.seq !== 'number') continue;
    result.localSeq = Math.max(result.localSeq, record.seq);
    if (wanted.has(record.seq)) local.set(record.seq, record.hash);
  }
  let behind: { seq: number; time: string } | null = null;
  for (const name of names) {
    const agrees = name.seq === 0 || local.get(name.seq) === name.hash;
    // Only heads that disagree (and the newest) need their signature read and checked.
    if (agrees && name !== names.at(-1)) continue;
    const head = await anchor.get(name).catch(() => null);
    const key = head ? keys.get(head.keyId) : undefined;
    if (
      !head ||
      head.seq !== name.seq ||
      head.hash !== name.hash ||
      !key ||
      !headSignatureValid(head, key.key)
    ) {
      result.notes.push(`ignored ${name.name}: not a head signed by a trusted key`);
      continue;
    }
    if (!result.newest || head.seq >= result.newest.seq)
      result.newest = { seq: head.seq, hash: head.hash, time: head.time };
    if (agrees) continue;
    if (!local.has(name.seq)) {
      if (!behind || head.seq > behind.seq) behind = { seq: head.seq, time: head.time };
    } else {
      result.problems.push({
        seq: head.seq,
        problem: 'anchor-mismatch',
        detail: `record ${head.seq} is not the one the head anchored in ${anchor.location} (signed ${head.time}) names: the ledger was rewritten from there`,
      });
    }
  }
  if (behind) {
    const from = result.localSeq + 1;
    result.problems.push({
      seq: from,
      problem: 'behind-anchor',
      detail: `the anchor ${anchor.location} holds a head signed ${behind.time} at seq ${behind.seq}, but the local ledger ends at seq ${result.localSeq}: ${from === behind.seq ? `record ${from} was` : `records ${from}–${behind.seq} were`} cut off`,
    });
  }
  result.problems.sort((a, b) => a.seq - b.seq);
  if (names.length === 0) result.notes.push(`the anchor ${anchor.location} holds no heads yet`);
  return result;
}
