/** Who runs inside a sandbox, and the error for a sandbox that cannot be made (sandbox.ts, sandbox-identity.ts). */

/** The sandbox's user, as commands see it (PostgreSQL refuses to run as root). */
export const SANDBOX_USER = { name: 'vouch', uid: 65534, gid: 65534 } as const;

/** Why a sandbox cannot be made: a missing tool, with how to install it. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}
