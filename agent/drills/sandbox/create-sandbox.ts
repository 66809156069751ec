/** Builds the sandbox a drill policy asks for. Adding a kind = one file plus one line here. */
import { createBwrapSandbox } from './bwrap-sandbox.js';
import type { Sandbox, SandboxSpec } from './sandbox.js';
import { createUnsandboxed } from './unsandboxed.js';

const KINDS = { bwrap: createBwrapSandbox, none: createUnsandboxed } satisfies Record<
  string,
  (spec: SandboxSpec) => Sandbox
>;

/** The sandbox of `kind`; throws SandboxUnavailableError (saying how to install what is missing). */
export function createSandbox(kind: keyof typeof KINDS, spec: SandboxSpec): Sandbox {
  return KINDS[kind](spec);
}
