/**
 * `vouch accept SET --revoke ID`: takes an acceptance back with a signed `acceptance-revocation`
 * record; the findings it covered count again and the set is judged again.
 */
import type { SetPolicy } from '../config/resolve-policy.js';
import type { RevocationRecordData, VerdictEffect } from '../ledger/acceptance-records.js';
import { ConfigError } from '../errors.js';
import { readAcceptanceIndex } from '../state/acceptance-index.js';
import type { Acceptance } from '../model/acceptance.js';
import { cappedText, requiredText } from './accept-findings.js';
import { withTriageSession } from './triage-session.js';

/** What to revoke. */
export interface RevokeRequest {
  stateDir: string;
  set: SetPolicy;
  /** The acceptance's id (`vouch accept SET --list`). */
  id: string;
  by: string;
  reason?: string;
}

/** What a revocation did. */
export interface RevokeResult {
  set: string;
  /** The acceptance, now with `revoked` set. */
  acceptance: Acceptance;
  verdicts: VerdictEffect[];
}

/** The acceptance id in `text`, or a usage error. */
function parseId(text: string): number {
  const id = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(id) || id < 1)
    throw new ConfigError(
      `--revoke needs an acceptance id (a number from \`vouch accept SET --list\`), not ${JSON.stringify(text)}`,
    );
  return id;
}

/** Revokes acceptance `request.id` of the set; throws ConfigError (exit 2) for an id that is not an acceptance in force of this set. */
export async function revokeAcceptance(request: RevokeRequest): Promise<RevokeResult> {
  const id = parseId(request.id);
  const by = requiredText(request.by, '--by', 'name who revokes the acceptance');
  const trimmed = request.reason?.trim();
  const reason = trimmed === undefined ? undefined : cappedText(trimmed, '--reason');
  const set = request.set.name;
  return withTriageSession({ stateDir: request.stateDir, set: request.set }, async (session) => {
    const current = await session.acceptances();
    const target = current.find((acceptance) => acceptance.id === id);
    if (!target) {
      const elsewhere = Object.entries((await readAcceptanceIndex(request.stateDir)).sets).find(([, list]) =>
        list.some((acceptance) => acceptance.id === id),
      )?.[0];
      const known = current.filter((acceptance) => !acceptance.revoked).map((acceptance) => acceptance.id);
      throw new ConfigError(
        elsewhere
          ? `acceptance ${id} belongs to set ${elsewhere}, not ${set}`
          : `set ${set} has no acceptance ${id} (${known.length ? `acceptances in force: ${known.join(', ')}` : 'it has no acceptances in force'})`,
      );
    }
    if (target.revoked)
      throw new ConfigError(
        `acceptance ${id} of set ${set} was already revoked by ${target.revoked.by} at ${target.revoked.at} (record ${target.revoked.id})`,
      );
    const others = current.filter((acceptance) => acceptance.id !== id);
    const data: RevocationRecordData = {
      set,
      acceptance: id,
      by,
      ...(reason ? { reason } : {}),
      verdicts: await session.preview(others),
    };
    const record = await session.ledger.append('acceptance-revocation', data);
    const verdicts = await session.commit(record, 'revocation');
    const revoked = (await session.acceptances()).find((acceptance) => acceptance.id === id)!;
    return { set, acceptance: revoked, verdicts };
  });
}
