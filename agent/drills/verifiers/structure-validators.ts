/**
 * Where the structure verifier finds content validators: the one seam between restore drills
 * and content detection. Detection's validators (agent/detection/validators/, one per format,
 * listed in its registry) are handed over with `useStructureValidators`; this build registers
 * none, so the structure verifier reports itself skipped and says why.
 */
import type { ValidatorDefinition } from '../../detection/validator.js';

let validators: readonly ValidatorDefinition[] = [];

/** Makes `list` the validators restored files are checked with (detection's registry calls this). */
export function useStructureValidators(list: readonly ValidatorDefinition[]): void {
  validators = list;
}

/** How many validators are registered. */
export function structureValidatorCount(): number {
  return validators.length;
}

/** The validator whose format `head` (an entry's first bytes, up to 64 KiB) starts like, or null. */
export function findStructureValidator(head: Uint8Array): ValidatorDefinition | null {
  return validators.find((validator) => validator.matches(head)) ?? null;
}
