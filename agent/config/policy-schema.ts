/**
 * The policy file's schema. It describes the file as written (durations and sizes are strings),
 * so the same schema validates YAML and generates the editors' JSON Schema; `resolve-policy.ts`
 * turns a valid file into runtime values. Objects are strict so a typo is an error, not a
 * silently ignored key.
 */
import { validate as validCron } from 'node-cron';
import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';

const duration = z
  .string()
  .refine((value) => parseDuration(value) !== null, { message: 'expected a duration such as 90m, 24h, 30d' })
  .describe('A duration: a number followed by s, m, h, d or w (e.g. 24h, 30d, 1d12h).');

const byteSize = z
  .union([z.number().int().nonnegative(), z.string()])
  .refine((value) => parseByteSize(value) !== null, { message: 'expected a size such as 512MiB or 10GB' })
  .describe('A byte count, or a size with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB).');

const regex = z.string().refine(
  (value) => {
    try {
      new RegExp(value, 'u');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

const cronExpression = z
  .string()
  .regex(/^\s*\S+(\s+\S+){4,5}\s*$/, 'expected a cron expression with 5 or 6 fields')
  .refine((value) => validCron(value), { message: 'not a valid cron expression' })
  .describe('A cron expression (5 fields, or 6 with seconds).');

/** True when the runtime's time-zone database knows `zone` (e.g. UTC, Europe/Berlin, Asia/Tokyo). */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const storeConcurrency = (fallback: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(fallback)
    .describe(
      'Objects read at once from this store, across every set that reads it (the smallest setting of those sets wins).',
    );

const fsSource = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe('Directory that holds the snapshots (a mounted offline volume, NFS, USB disk…).'),
  concurrency: storeConcurrency(8),
});

const s3Source = z.strictObject({
  bucket: z.string().min(3).max(63),
  prefix: z.string().default('').describe('Key prefix of the set, e.g. "orders/".'),
  region: z.string().default('us-east-1'),
  endpoint: z.url().optional().describe('S3-compatible endpoint (MinIO, Ceph, Wasabi…); omit for AWS.'),
  forcePathStyle: z.boolean().default(false),
  checksums: z
    .enum(['when-supported', 'when-required'])
    .default('when-supported')
    .describe('SDK request/response checksum mode; some S3-compatible stores need when-required.'),
  maxAttempts: z.number().int().min(1).max(20).default(5).describe('Attempts per request, first included.'),
  connectTimeout: duration.default('5s'),
  idleTimeout: duration
    .default('30s')
    .describe('A read that receives no bytes for this long fails (and is resumed where it stopped).'),
  concurrency: storeConcurrency(16),
});

const repositoryLock = z
  .boolean()
  .default(true)
  .describe(
    "Take the repository's shared lock while reading (false: read without locking, for read-only or append-only repositories that refuse lock files).",
  );

const resticSource = z.strictObject({
  repository: z
    .string()
    .min(1)
    .describe(
      'The repository as restic spells it: a path (relative paths are from the policy file), or s3:…, rest:…, sftp:…, b2:…, azure:…, gs:…, rclone:…',
    ),
  passwordFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "File holding the repository password (relative paths are from the policy file). Without it restic reads RESTIC_PASSWORD_FILE, RESTIC_PASSWORD or RESTIC_PASSWORD_COMMAND from vouch's environment. Never put the password itself in the policy.",
    ),
  host: z.string().min(1).optional().describe('Only snapshots of this host (restic --host).'),
  paths: z
    .array(z.string().min(1))
    .default([])
    .describe('Only snapshots that include all of these backed-up paths (restic --path).'),
  tags: z
    .array(z.string().min(1))
    .default([])
    .describe('Only snapshots that carry all of these tags (restic --tag).'),
  lock: repositoryLock,
});

const borgSource = z.strictObject({
  repository: z
    .string()
    .min(1)
    .describe(
      "The repository as borg spells it: a path (relative paths are from the policy file), ssh://user@host/path or user@host:path. The passphrase comes from BORG_PASSPHRASE or BORG_PASSCOMMAND in vouch's environment.",
    ),
  archives: z
    .string()
    .min(1)
    .optional()
    .describe('Only archives whose names match this shell glob (borg --glob-archives), e.g. "orders-*".'),
  lock: repositoryLock,
});

const SOURCE_KINDS = ['fs', 's3', 'restic', 'borg'] as const;

const source = z
  .strictObject({
    fs: fsSource.optional(),
    s3: s3Source.optional(),
    restic: resticSource.optional(),
    borg: borgSource.optional(),
  })
  .superRefine((value, ctx) => {
    const kinds = SOURCE_KINDS.filter((kind) => value[kind] !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({ code: 'custom', message: `set exactly one of ${SOURCE_KINDS.join(', ')}` });
  })
  .describe(
    "Where the set lives: exactly one of fs, s3 (snapshots as archives or directories), restic or borg (a backup tool's repository: each of its snapshots is one snapshot).",
  );

const snapshots = z.strictObject({
  layout: z
    .enum(['archive', 'directory'])
    .describe(
      'archive: one archive object per snapshot; directory: one directory (or prefix) of plain files per snapshot.',
    ),
  match: regex
    .optional()
    .describe(
      'Regex on the archive name or directory name. A named group "time" gives the snapshot time; without it the object or directory modification time is used.',
    ),
  timezone: z
    .string()
    .refine(knownTimeZone, { message: 'unknown time zone (use an IANA name such as UTC or Asia/Tokyo)' })
    .optional()
    .describe(
      'IANA time zone of snapshot names whose time has no offset (2026-12-05, 20261205T020000): a backup job naming by local date in Tokyo says Asia/Tokyo. Default UTC; names with Z or +09:00 say their own.',
    ),
  passwordFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Encrypted .7z snapshots: a file whose first line is their password (relative paths are from the policy file). Never put the password itself in the policy.',
    ),
  retention: duration
    .optional()
    .describe(
      'How long the backup tool keeps snapshots. A snapshot that leaves the store older than this (by its snapshot time) was pruned: recorded, not a finding. Without it, every snapshot that leaves the store is a `snapshot-removed` finding until accepted.',
    ),
});

const integrity = z.strictObject({
  algorithm: z
    .enum(['sha256', 'blake3'])
    .default('sha256')
    .describe('Entry digest; sha256 matches SHA256SUMS files.'),
  rehash: z
    .union([z.literal('always'), duration])
    .default('always')
    .describe(
      'Re-read and re-hash unchanged snapshots when their last deep read is older than this ("always": every scan).',
    ),
  sums: z
    .boolean()
    .default(true)
    .describe('Also verify SHA256SUMS / B3SUMS files found beside or inside snapshots.'),
  sample: z
    .strictObject({
      window: duration.describe(
        'Every byte of the set is re-read at least once within this window (e.g. 30d).',
      ),
      dailyBytes: byteSize.describe(
        'Re-reading unchanged snapshots reads at most this many bytes from the store per 24 hours (the egress budget).',
      ),
    })
    .optional()
    .describe(
      'Sampled verification for estates too large to re-read every scan: unchanged snapshots (same size, ETag/VersionId, mtime) are re-read in a rotation that covers every byte within `window` while staying within `dailyBytes`; new and changed snapshots are always read. Replaces `rehash`.',
    ),
});

const limits = z.strictObject({
  maxEntries: z.number().int().positive().optional(),
  maxTotalBytes: byteSize.optional(),
  maxEntryBytes: byteSize.optional(),
  maxRatio: z.number().positive().optional(),
  maxPathLength: z.number().int().positive().optional(),
  maxDepth: z.number().int().positive().optional(),
});

const targets = z.strictObject({
  rpo: duration
    .optional()
    .describe('Recovery point objective: the newest clean snapshot must be younger than this.'),
  rto: duration.optional().describe('Recovery time objective: a full restore must finish within this.'),
});

const schedule = z.strictObject({
  scan: cronExpression.optional().describe('When `vouch serve` scans the set (and audits its immutability).'),
  drill: cronExpression.optional().describe('When `vouch serve` runs a restore drill of the set.'),
  timezone: z
    .string()
    .refine(knownTimeZone, { message: 'unknown time zone (use an IANA name such as UTC or Asia/Tokyo)' })
    .default('UTC')
    .describe('IANA time zone the cron expressions are read in.'),
});

const drillCommand = z.union([
  z.string().min(1).describe('A shell command run with sh -c in the restored tree; must exit 0.'),
  z
    .strictObject({
      name: z.string().optional().describe('Shown in results; defaults to the command.'),
      run: z
        .string()
        .min(1)
        .optional()
        .describe('Shell command (sh -c), run with the restored tree as working directory.'),
      script: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A script on this machine (relative to the policy file), mounted read-only in the sandbox and run with sh.',
        ),
      args: z.array(z.string()).default([]).describe('Arguments for the script.'),
      expectExit: z.number().int().min(0).max(255).default(0),
      expectOutput: regex.optional().describe("Regex the command's standard output must match."),
      timeout: duration.optional().describe('Wall-clock limit for this command (default: drill.timeout).'),
    })
    .refine((command) => (command.run === undefined) !== (command.script === undefined), {
      message: 'set exactly one of run or script',
    }),
]);

const sqlAssertion = z
  .strictObject({
    name: z.string().optional().describe('Shown when the assertion fails; defaults to the SQL.'),
    sql: z.string().min(1).describe('A query returning one value (first column of the first row).'),
    min: z.number().optional().describe('The value must be a number ≥ min.'),
    max: z.number().optional().describe('The value must be a number ≤ max.'),
    equals: z.union([z.number(), z.string()]).optional(),
    matches: regex.optional().describe('The value (as text) must match this regex.'),
    within: z
      .union([z.literal('rpo'), duration])
      .optional()
      .describe(
        'The value is a timestamp no older than this before the snapshot time ("rpo": the set\'s RPO target).',
      ),
  })
  .refine(
    (assertion) =>
      [assertion.min, assertion.max, assertion.equals, assertion.matches, assertion.within].some(
        (value) => value !== undefined,
      ),
    { message: 'give at least one of min, max, equals, matches, within' },
  );

const postgresCheck = z.strictObject({
  dump: z
    .string()
    .min(1)
    .describe('Path of the pg_dump output inside the restored snapshot, e.g. db/orders.sql.'),
  format: z
    .enum(['auto', 'plain', 'custom'])
    .default('auto')
    .describe('auto: custom when the file starts with PGDMP, else plain SQL.'),
  database: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case PostgreSQL identifier')
    .default('restored'),
  assertions: z.array(sqlAssertion).default([]),
  timeout: duration
    .optional()
    .describe('Wall-clock limit for the restore plus assertions (default: drill.timeout).'),
});

const sqliteCheck = z.strictObject({
  path: z.string().min(1).describe('Path of the SQLite database inside the restored snapshot.'),
  integrity: z
    .enum(['full', 'quick'])
    .default('full')
    .describe('PRAGMA integrity_check (full) or quick_check.'),
  assertions: z.array(sqlAssertion).default([]),
  timeout: duration.optional(),
});

const drillLimits = z.strictObject({
  cpu: duration.default('30m').describe('CPU time per sandboxed process.'),
  memory: byteSize.default('4GiB').describe('Address space per sandboxed process.'),
  processes: z.number().int().min(16).default(512).describe('Processes in one sandbox.'),
  fileSize: byteSize.default('64GiB').describe('Largest file a sandboxed process may write.'),
  tmp: byteSize.default('512MiB').describe("Size of the sandbox's private /tmp (in memory)."),
});

/** A set's `drill` key (exported so an absent key resolves to the same defaults). */
export const drillSchema = z.strictObject({
  pick: z.enum(['latest', 'last-clean', 'random']).default('last-clean'),
  window: duration.optional().describe('random: pick among snapshots no older than this (default: all).'),
  sample: z
    .string()
    .regex(/^\d{1,3}(\.\d+)?%$/, 'expected a percentage such as 100%')
    .refine((value) => Number.parseFloat(value) > 0 && Number.parseFloat(value) <= 100, {
      message: 'expected a percentage above 0% and at most 100%',
    })
    .default('100%')
    .describe(
      'Restore and verify this share of the entries (chosen afresh each drill) and project the full restore time.',
    ),
  sandbox: z
    .enum(['bwrap', 'none'])
    .default('bwrap')
    .describe(
      'bwrap: commands and application checks run in a bubblewrap sandbox (no network, read-only host). none: run them unsandboxed — only for trusted backups on machines without bwrap.',
    ),
  timeout: duration.default('1h').describe('Default wall-clock limit of each command and application check.'),
  limits: drillLimits.default({
    cpu: '30m',
    memory: '4GiB',
    processes: 512,
    fileSize: '64GiB',
    tmp: '512MiB',
  }),
  verify: z
    .strictObject({
      digests: z.boolean().default(true).describe('Compare restored files with the baseline manifest.'),
      structure: z
        .boolean()
        .default(true)
        .describe('Run the content structure validators over restored files.'),
    })
    .default({ digests: true, structure: true }),
  commands: z.array(drillCommand).default([]),
  postgres: z
    .array(postgresCheck)
    .default([])
    .describe('Restore pg_dump files into a throwaway server in the sandbox and run SQL assertions.'),
  sqlite: z
    .array(sqliteCheck)
    .default([])
    .describe('integrity_check plus SQL assertions on restored SQLite databases.'),
  maxAge: duration
    .optional()
    .describe(
      'A passed drill older than this makes the set not ready (default: the longest gap of the drill schedule plus 1h; without a drill schedule, no age limit — but a set with a drill key always needs a passed drill to be ready).',
    ),
});

const immutability = z.strictObject({
  objectLock: z
    .enum(['compliance', 'governance', 'any', 'off'])
    .optional()
    .describe('S3: required Object Lock default mode of the bucket (any: either mode; off: not checked).'),
  minRetention: duration
    .optional()
    .describe('S3: objects must stay locked at least this long after their snapshot time.'),
  versioning: z.enum(['required', 'optional']).optional().describe('S3: bucket versioning must be enabled.'),
  sampleObjects: z
    .number()
    .int()
    .positive()
    .default(200)
    .describe(
      'S3: at most this many snapshot objects get per-object retention and legal-hold checks per audit (newest first, then a rotating sample).',
    ),
  maxAge: duration
    .optional()
    .describe("Offline sets: the newest copy must be younger than this (default: the set's RPO)."),
});

const percentage = z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'expected a percentage such as 1%');

const detection = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('Classify content (ransomware encryption, ransom notes, mass changes) while scanning.'),
  compromisedFiles: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      'A snapshot with at least this many strongly encrypted files is compromised (fewer: suspicious).',
    ),
  compromisedFraction: percentage
    .default('1%')
    .describe('…or with at least this share of its files strongly encrypted.'),
  allow: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Glob patterns (picomatch) of entry paths that may legitimately hold encrypted content, e.g. "vault/**/*.kdbx".',
    ),
  expectEncryptedArchives: z
    .boolean()
    .default(false)
    .describe(
      "The set's archives are password-protected on purpose (zip -P, zip AES): a first snapshot whose every file is stored encrypted by the archive is not suspicious. Files that were plain in the previous snapshot and are now password-protected are still reported as encrypted (use allow for paths encrypted on purpose).",
    ),
  remeasure: z
    .enum(['changed', 'all'])
    .default('changed')
    .describe(
      "Which files detection measures: changed (default) — bytes identical to a file this version of vouch already judged intact (in the snapshot's own baseline, or at the same path in the previous snapshot) keep that judgement and are only hashed; all — measure every file on every deep read.",
    ),
  massChange: z
    .strictObject({
      minFiles: z
        .number()
        .int()
        .min(1)
        .default(20)
        .describe('Changed, added and removed files needed before a change rate can be called mass change.'),
      factor: z
        .number()
        .min(1)
        .default(5)
        .describe("Mass change: this many times the set's median change rate…"),
      floor: percentage.default('20%').describe('…and at least this share of the files.'),
    })
    .default({ minFiles: 20, factor: 5, floor: '20%' }),
});
const storage = z
  .strictObject({
    media: z
      .enum(['object-storage', 'disk', 'tape', 'optical', 'other'])
      .optional()
      .describe('Kind of media the copy lives on (default: object-storage for s3 sets, disk for fs sets).'),
    offsite: z.boolean().default(false).describe('The copy is at another site than production.'),
  })
  .describe('Where this copy lives, for the 3-2-1-1-0 rule of the data sets it belongs to.');

const setName = z.string().regex(/^[a-z0-9-]+$/, 'set names use a-z, 0-9 and -');

const backupSet = z.strictObject({
  source,
  snapshots: snapshots
    .optional()
    .describe(
      'How snapshots are laid out (fs and s3 sets; restic and borg sets list their own snapshots and take no snapshots block).',
    ),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe(
      'Files of one directory snapshot opened and read at once (archives are read one stream at a time). On an fs source, files up to 1 GiB are read by the analysis workers themselves, up to 256 of them in flight besides.',
    ),
  integrity: integrity.default({ algorithm: 'sha256', rehash: 'always', sums: true }),
  limits: limits.optional().describe('Caps that stop a hostile or runaway archive.'),
  targets: targets.optional(),
  schedule: schedule.optional(),
  drill: drillSchema.optional().describe('How restore drills of this set run.'),
  immutability: immutability.optional(),
  detection: detection.optional().describe('Ransomware detection settings (defaults shown).'),
  storage: storage.optional(),
});

const dataset = z.strictObject({
  copies: z
    .array(setName)
    .min(1)
    .describe('Sets that hold copies of this data set (checked against the 3-2-1-1-0 rule).'),
});

const evidenceSchema = z.strictObject({
  anchor: z
    .strictObject({
      s3: z
        .strictObject({
          bucket: z.string().min(3).max(63),
          prefix: z.string().default('').describe('Key prefix; heads go under PREFIXheads/.'),
          region: z.string().default('us-east-1'),
          endpoint: z.url().optional().describe('S3-compatible endpoint; omit for AWS.'),
          forcePathStyle: z.boolean().default(false),
          checksums: z.enum(['when-supported', 'when-required']).default('when-supported'),
        })
        .optional()
        .describe(
          'A bucket (ideally with Object Lock in compliance mode) the agent can write heads to but not delete them from.',
        ),
      dir: z
        .string()
        .min(1)
        .optional()
        .describe('A directory on another volume (a WORM share); relative paths are from the policy file.'),
    })
    .superRefine((value, ctx) => {
      if ([value.s3, value.dir].filter(Boolean).length !== 1)
        ctx.addIssue({ code: 'custom', message: 'set exactly one of s3 or dir' });
    })
    .optional()
    .describe(
      'Where every signed ledger head is also stored, off this host, so records cut off the end cannot be hidden by a re-signed head; `vouch evidence verify --anchor` checks the ledger against it.',
    ),
});

/** The whole policy file. */
export const policySchema = z
  .strictObject({
    state: z.string().optional().describe('State directory; --state and VOUCH_STATE override it.'),
    concurrency: z
      .strictObject({
        sets: z.number().int().min(1).max(64).default(2).describe('Sets one scan reads at once.'),
        workers: z
          .union([z.literal('auto'), z.number().int().min(1).max(64)])
          .default('auto')
          .describe('Analysis worker threads (digests, content features): auto = one per core, at most 8.'),
      })
      .optional()
      .describe('How much of the machine a scan uses.'),
    evidence: evidenceSchema.optional().describe('Evidence ledger settings.'),
    sets: z
      .record(setName, backupSet)
      .refine((sets) => Object.keys(sets).length > 0, { message: 'define at least one set' }),
    datasets: z
      .record(setName, dataset)
      .optional()
      .describe('Data sets whose copies live in several sets; vouch reports the 3-2-1-1-0 rule for each.'),
  })
  .superRefine((policy, ctx) => {
    for (const [name, data] of Object.entries(policy.datasets ?? {})) {
      data.copies.forEach((copy, index) => {
        if (!Object.hasOwn(policy.sets, copy)) {
          ctx.addIssue({
            code: 'custom',
            path: ['datasets', name, 'copies', index],
            message: `no set named ${copy}`,
          });
        }
      });
    }
    for (const [name, set] of Object.entries(policy.sets)) {
      if (set.integrity.sample && set.integrity.rehash !== 'always') {
        ctx.addIssue({
          code: 'custom',
          path: ['sets', name, 'integrity', 'rehash'],
          message: 'set either rehash or sample: sampling decides when unchanged snapshots are re-read',
        });
      }
      const repository = set.source.restic ? 'restic' : set.source.borg ? 'borg' : null;
      if (repository && set.snapshots) {
        ctx.addIssue({
          code: 'custom',
          path: ['sets', name, 'snapshots'],
          message: `${repository} sets need no snapshots block: each ${repository} snapshot is one snapshot`,
        });
      }
      if (!repository && !set.snapshots)
        ctx.addIssue({
          code: 'custom',
          path: ['sets', name, 'snapshots'],
          message: 'required for fs and s3 sets (layout: archive or directory)',
        });
      if (set.snapshots?.passwordFile && set.snapshots.layout !== 'archive') {
        ctx.addIssue({
          code: 'custom',
          path: ['sets', name, 'snapshots', 'passwordFile'],
          message: 'applies to archive snapshots (.7z) only',
        });
      }
      if (set.source.s3 || !set.immutability) continue;
      for (const key of ['objectLock', 'minRetention', 'versioning'] as const) {
        if (set.immutability[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['sets', name, 'immutability', key],
            message: 'applies to s3 sets only',
          });
        }
      }
    }
  })
  .describe('vouch policy: backup sets to verify and how.');

/** A policy file as parsed (defaults applied, strings not yet resolved). */
export type PolicyFile = z.output<typeof policySchema>;
/** One set as parsed. */
export type BackupSetFile = PolicyFile['sets'][string];
/** A set's `drill` key as parsed. */
export type DrillFile = z.output<typeof drillSchema>;
