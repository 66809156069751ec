/** Typed errors. Each names what failed so a message is actionable without a stack trace. */

/** Base class: every error vouch raises on purpose. */
export class VouchError extends Error {
  override name = 'VouchError';
}

/** A policy or command-line problem: exit code 2. */
export class ConfigError extends VouchError {
  override name = 'ConfigError';
  /** One line per problem, each starting with its path (`sets.orders.source.s3.bucket: required`). */
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], options?: ErrorOptions) {
    super(problems.length ? `${message}\n  ${problems.join('\n  ')}` : message, options);
    this.problems = problems;
  }
}

/** A failure reading one object of a backup source. `permanent` says retrying will not help. */
export class SourceError extends VouchError {
  override name = 'SourceError';
  constructor(
    readonly location: string,
    readonly key: string,
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions,
  ) {
    super(`${location}: ${key}: ${message}`, options);
  }
}

/**
 * The object is no longer the version a read was pinned to (`ifMatch`): it was overwritten or
 * deleted between the listing and the read, or between two parts of one read. Permanent.
 */
export class ObjectChangedError extends SourceError {
  override name = 'ObjectChangedError';
  constructor(location: string, key: string, message: string, options?: ErrorOptions) {
    super(location, key, message, true, options);
  }
}

/**
 * The store holds no version `versionId` of the key (asked for as `ID@VERSION`), or keeps no
 * versions at all (`unversioned`: the bucket never had versioning, or the source is not a store
 * with versions). Permanent.
 */
export class VersionNotFoundError extends SourceError {
  override name = 'VersionNotFoundError';
  constructor(
    location: string,
    key: string,
    readonly versionId: string,
    readonly unversioned: boolean,
    message: string,
    options?: ErrorOptions,
  ) {
    super(location, key, message, true, options);
  }
}

/** Another process holds the state directory. */
export class StateLockedError extends VouchError {
  override name = 'StateLockedError';
}

/** Message of an unknown thrown value, with its causes, on one line. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (!parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
