/** Who asked for a scan or drill, as its ledger record and job log carry it. */
export interface RequestedBy {
  /** What started it: the daemon's schedule or API, or a command line. */
  trigger: 'schedule' | 'api' | 'startup' | 'cli';
  /** For API requests: how the caller proved itself — the bearer token, a console session, or nothing (a token-less daemon on loopback). */
  caller?: 'token' | 'session' | 'loopback';
  /** For API requests: the peer address. */
  address?: string;
}
