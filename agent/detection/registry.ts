/**
 * Every structure validator, in the order their magic is tried. One file per format in
 * validators/; adding a format is that file plus one line here. `text` has no magic (it matches
 * on what the head looks like), so it comes last.
 */
import type { ValidatorDefinition } from './validator.js';

/** Validators in matching order. */
export const VALIDATORS: readonly ValidatorDefinition[] = [];

let prepared: Promise<void> | null = null;

/** Runs every validator's one-time set-up (once per thread). */
export function prepareValidators(): Promise<void> {
  prepared ??= Promise.all(VALIDATORS.map((definition) => definition.prepare?.())).then(() => undefined);
  return prepared;
}
