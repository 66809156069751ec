/**
 * Where the structure verifier finds content validators: the one seam between restore drills
 * and content detection. Drills check restored files with exactly the validators scans use
 * (agent/detection/registry.ts), recognised the same way (magic first, legitimately encrypted
 * formats never claimed).
 */
import { identify } from '../../detection/content-probe.js';
import { prepareValidators, VALIDATORS } from '../../detection/registry.js';
import type { ValidatorDefinition } from '../../detection/validator.js';

/** Readies every validator (one-time asynchronous set-up); call before the first `create`. */
export function prepareStructureValidators(): Promise<void> {
  return prepareValidators();
}

/** How many validators are registered. */
export function structureValidatorCount(): number {
  return VALIDATORS.length;
}

/** The validator whose format `head` (an entry's first bytes, up to 64 KiB) starts like, or null. */
export function findStructureValidator(head: Uint8Array): ValidatorDefinition | null {
  return identify(head, VALIDATORS);
}
