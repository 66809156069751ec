/**
 * Anchoring the ledger's signed head off the host (`evidence.anchor` in the policy): every signed
 * head the agent writes is also stored, under a name that carries its seq and hash, where root on
 * this host cannot take it back — an S3 bucket with Object Lock, or a directory on another volume
 * (a WORM share, a mount the agent can create files on but not delete). `vouch evidence verify
 * --anchor` then proves the local ledger is not behind any anchored head: cutting records off the
 * end and re-signing a head over the rest (which the host's own key allows) no longer goes unseen.
 *
 * Heads are published in the background and coalesced: a burst of appends stores its latest
 * head, never a queue of every one (each stored head is a complete claim on its own). A store
 * that cannot be reached does not stop appends — the ledger stays the record — but the failure is
 * reported (`problems()`), logged by the daemon and printed by the CLI.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeUnprintable } from '../archives/safe-path.js';
import { describeError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { LedgerHead } from './record-signature.js';
import type { AnchorSpec } from '../model/anchor-spec.js';
import { anchoredHeadName, bySeq, parseHead, parseName, type HeadAnchor } from './anchored-head.js';

/** A directory anchor: `DIR/heads/NAME`, written atomically. */
export function directoryAnchor(directory: string): HeadAnchor {
  const heads = path.join(path.resolve(directory), 'heads');
  return {
    location: path.resolve(directory),
    async put(head) {
      await mkdir(heads, { recursive: true });
      await writeFileAtomic(path.join(heads, anchoredHeadName(head)), `${JSON.stringify(head)}\n`, 0o444);
    },
    async list() {
      const names = await readdir(heads).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      return names.flatMap((name) => parseName(name, path.join(heads, name)) ?? []).sort(bySeq);
    },
    async get(entry) {
      return parseHead(await readFile(entry.name, 'utf8'));
    },
    close() {},
  };
}

/**
 * An S3 anchor (s3-head-anchor.ts), its SDK loaded on first use: commands that never anchor do
 * not pay for loading it.
 */
function lazyS3Anchor(spec: Extract<AnchorSpec, { kind: 's3' }>): HeadAnchor {
  let loaded: Promise<HeadAnchor> | null = null;
  const anchor = () => (loaded ??= import('./s3-head-anchor.js').then((module) => module.s3Anchor(spec)));
  return {
    location: `s3://${spec.bucket}/${spec.prefix}`,
    put: async (head) => (await anchor()).put(head),
    list: async () => (await anchor()).list(),
    get: async (name) => (await anchor()).get(name),
    close: () => void loaded?.then((opened) => opened.close()),
  };
}

/** The anchor for a spec. */
export function createHeadAnchor(spec: AnchorSpec): HeadAnchor {
  return spec.kind === 'directory' ? directoryAnchor(spec.path) : lazyS3Anchor(spec);
}

/** Says a head could not be anchored: on stderr (escaped), for commands; the daemon logs instead. */
export function warnOnStderr(message: string): void {
  process.stderr.write(`vouch: warning: ${escapeUnprintable(message)}\n`);
}

/**
 * Ledger options that anchor heads per the policy's `evidence.anchor` (none without one), with
 * `onProblem` told of every head that could not be stored. The ledger store closes the anchor.
 */
export function anchorOptions(
  spec: AnchorSpec | undefined,
  onProblem: (message: string) => void = warnOnStderr,
): { anchor?: HeadAnchor; onAnchorProblem?: (message: string) => void } {
  return spec ? { anchor: createHeadAnchor(spec), onAnchorProblem: onProblem } : {};
}

/**
 * Publishes heads to an anchor in the background, the latest one winning. `flush()` waits until
 * the newest head handed over is stored (or failed).
 */
export class AnchorPublisher {
  private pending: LedgerHead | null = null;
  private running: Promise<void> | null = null;
  private readonly failures: string[] = [];
  private lastStored = 0;

  constructor(
    readonly anchor: HeadAnchor,
    private readonly onProblem: (message: string) => void = () => {},
  ) {}

  /** Hands over a head; returns at once. */
  publish(head: LedgerHead): void {
    if (!this.pending || head.seq >= this.pending.seq) this.pending = head;
    this.running ??= this.drain();
  }

  /** Waits for the newest head handed over. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Why heads could not be anchored (one line each), and the newest seq stored. */
  status(): { stored: number; problems: string[] } {
    return { stored: this.lastStored, problems: [...this.failures] };
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const head = this.pending;
        this.pending = null;
        try {
          await this.anchor.put(head);
          this.lastStored = Math.max(this.lastStored, head.seq);
        } catch (error) {
          const message = `could not anchor the head at seq ${head.seq} in ${this.anchor.location}: ${describeError(error)}`;
          if (this.failures.length < 20) this.failures.push(message);
          this.onProblem(message);
        }
      }
    } finally {
      this.running = null;
    }
  }
}
