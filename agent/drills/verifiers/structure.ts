/**
 * Structure verifier: restored files whose format has a validator (gzip, zip, PNG, PDF, SQLite…)
 * must still obey its grammar and checksums — a restore that yields a valid-looking tree of
 * broken files is not a restore. Validators are content detection's, through
 * structure-validators.ts.
 * Runs before any command, on files this drill created, opened without following links.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { DEFAULT_VALIDATOR_LIMITS } from '../../detection/validator.js';
import { describeError } from '../../errors.js';
import {
  findStructureValidator,
  prepareStructureValidators,
  structureValidatorCount,
} from './structure-validators.js';
import { reportFrom, type Verifier } from './verifier.js';
import { type VerifierFailure } from '../../model/drill.js';

const HEAD_BYTES = 64 * 1024;

export const structureVerifier: Verifier = {
  name: 'structure',
  phase: 'verify',
  sandboxed: false,
  enabled: (drill) => drill.verify.structure,
  async run({ restore, workspace, signal }) {
    if (structureValidatorCount() === 0) {
      return {
        status: 'skipped',
        detail: 'no structure validators are registered in this build, so file formats were not checked',
        failures: [],
      };
    }
    await prepareStructureValidators();
    const failures: VerifierFailure[] = [];
    let checked = 0;
    for (const entry of restore.entries.values()) {
      if (entry.type !== 'file' || entry.size === 0) continue;
      signal?.throwIfAborted();
      const file = path.join(workspace.restoreDir, entry.path);
      try {
        const handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
        const head = Buffer.alloc(Math.min(HEAD_BYTES, entry.size));
        const { bytesRead } = await handle.read(head, 0, head.length, 0);
        const definition = findStructureValidator(head.subarray(0, bytesRead));
        if (!definition) {
          await handle.close();
          continue;
        }
        const validator = definition.create(entry.size, DEFAULT_VALIDATOR_LIMITS);
        for await (const chunk of createReadStream('', {
          fd: handle,
          autoClose: true,
          highWaterMark: 1 << 20,
        }))
          validator.update(chunk as Buffer);
        const verdict = validator.finish();
        checked++;
        if (verdict.status === 'invalid') {
          failures.push({
            path: entry.path,
            detail: `${definition.type}: ${verdict.detail ?? 'structure invalid'}${verdict.offset !== undefined ? ` at byte ${verdict.offset}` : ''}`,
          });
        }
      } catch (error) {
        failures.push({ path: entry.path, detail: `cannot read the restored file: ${describeError(error)}` });
      }
    }
    return reportFrom(
      failures,
      `${checked} restored files of validated formats are structurally intact`,
      `${failures.length} restored files are structurally broken`,
    );
  },
};
