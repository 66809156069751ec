/**
 * The test tiers. `npm test` runs every tier; `npm run test:unit` runs only `unit`, the inner loop:
 * test files that need nothing outside node_modules (no Debian package, no file of the host's
 * own, no sandbox, browser or database) and finish in well under two minutes on two cores.
 * Everything not listed here is in the `system` tier. A file belongs in `unit` only when it runs
 * with PATH holding nothing but `node` (that is how CI checks this list).
 *
 * `dates` lists the tests whose outcome involves today's date (the demo estate, readiness, RPO and
 * drill ages, sampling windows, schedules, report periods): CI runs them again with the calendar
 * clock (VOUCH_NOW, agent/clock.ts) 45 days ahead and across a year end.
 */
export const UNIT_TESTS = [
  'test/unit/recover-fetch-dir.test.ts',
  'test/unit/calendar-clock.test.ts',
  'test/detection/validators/inflate-output-size.test.ts',
  'test/unit/scan-text-paths.test.ts',
  'test/unit/future-dated.test.ts',
  'test/unit/recover-exit-code.test.ts',
  'test/unit/drill-judgement-outcome.test.ts',
  'test/archives/plain-reader.test.ts',
  'test/sources/fs-changed-while-read.test.ts',
  'test/archives/registry.test.ts',
  'test/archives/safe-path.test.ts',
  'test/archives/zip-reader.test.ts',
  'test/build/bundle.test.ts',
  'test/daemon/listen-and-logs.test.ts',
  'test/daemon/scheduler.test.ts',
  'test/daemon/state-access.test.ts',
  'test/metrics/*.test.ts',
  'test/estate/*.test.ts',
  'test/deploy/kubernetes-manifests.test.ts',
  'test/detection/validators/validator-kit.test.ts',
  'test/drills/drill-search-cap.test.ts',
  'test/drills/restore-writer.test.ts',
  // archive-readers.fuzz and hostile-drills also read .tar.xz, .tar.bz2 and .7z through the host's
  // xz, bzip2 and 7zz: system tier.
  'test/fuzz/ledger.fuzz.test.ts',
  'test/fuzz/policy.fuzz.test.ts',
  'test/fuzz/scan-and-drill.fuzz.test.ts',
  'test/immutability/rule-3-2-1-1-0.test.ts',
  'test/immutability/s3-audit-mock.test.ts',
  'test/integration/scan-s3-faults.test.ts',
  'test/ledger/ledger-files-fingerprint.test.ts',
  'test/ledger/ledger-index.test.ts',
  'test/ledger/ledger-tamper.test.ts',
  'test/scan/*.test.ts',
  'test/analysis/*.test.ts',
  'test/sources/*.test.ts',
  'test/state/*.test.ts',
  'test/unit/*.test.ts',
  'test/web/console-http.test.ts',
  'test/web/finding-groups.test.ts',
  'test/web/timeline.test.ts',
];

export const DATE_SENSITIVE_TESTS = [
  'test/integration/recover-answers.test.ts',
  'test/unit/future-dated.test.ts',
  'test/demo/estate.test.ts',
  'test/web/console.test.ts',
  'test/web/console-http.test.ts',
  'test/unit/readiness.test.ts',
  'test/unit/last-clean.test.ts',
  'test/unit/verification-coverage.test.ts',
  'test/unit/drill-decisions.test.ts',
  'test/unit/revoked-acceptance-alert.test.ts',
  'test/scan/sample-plan.test.ts',
  'test/integration/scan-sampled.test.ts',
  'test/integration/destroyed-backups.test.ts',
  'test/daemon/scheduler.test.ts',
  'test/drills/run-drill.test.ts',
  'test/e2e/prometheus-alerts.test.ts',
  'test/e2e/serve-s3.test.ts',
  'test/evidence/report.test.ts',
  'test/immutability/offline-audit.test.ts',
];
