/**
 * The pages of one set, mounted under `/sets`: `/sets/:set` (readiness, what to restore, the
 * timeline, findings, acceptances, drills, immutability, every snapshot) and
 * `/sets/:set/snapshots/:snapshot` (one snapshot's findings, where it stands against the last
 * clean one, and the recovery plan).
 */
import { Hono } from 'hono';
import { now } from '../../clock.js';
import { loadPlanInput } from '../../recover/plan-input.js';
import { planRecovery } from '../../recover/recovery-plan.js';
import { lastCleanReport } from '../../verdicts/last-clean.js';
import { SetPage } from '../pages/set-page.js';
import { SnapshotPage } from '../pages/snapshot-page.js';
import type { ConsoleKit } from './console-kit.js';
import { requireSnapshot, type SnapshotEnv } from './guards.js';

/** The set and snapshot page routes, relative to `/sets`. */
export function setPageRoutes(kit: ConsoleKit): Hono<SnapshotEnv> {
  const { ctx, frame, page, notFound } = kit;
  const app = new Hono<SnapshotEnv>();

  app.get('/:set', async (c) => {
    const set = await kit.findSet(c.req.param('set'));
    if (!set) return notFound(c, `The policy has no set named ${c.req.param('set')}.`);
    const snapshots = set.state ? Object.values(set.state.index.snapshots) : [];
    const report = lastCleanReport(snapshots, set.state?.drills.drills ?? [], now());
    return page(
      c,
      <SetPage
        frame={frame(c)}
        set={set}
        report={report}
        nextRuns={ctx.scheduler.nextRuns(set.policy.name)}
      />,
    );
  });

  const snapshotPageFound = requireSnapshot(kit, (c) =>
    notFound(c, `Set ${c.req.param('set')} has no snapshot ${c.req.param('snapshot')} in its state.`),
  );
  app.get('/:set/snapshots/:snapshot', snapshotPageFound, async (c) => {
    const found = c.get('found');
    const lastClean = lastCleanReport(Object.values(found.set.state!.index.snapshots), []).lastClean;
    const relation = !lastClean
      ? 'no snapshot of the set is clean'
      : lastClean.id === found.snapshot.id
        ? 'the last clean snapshot'
        : Date.parse(found.snapshot.time) > Date.parse(lastClean.time)
          ? 'newer than the last clean snapshot'
          : 'older than the last clean snapshot';
    const plan = await loadPlanInput(ctx.stateDir, found.set.policy.name)
      .then((input) => planRecovery(found.set.policy.name, input))
      .catch(() => null);
    return page(
      c,
      <SnapshotPage
        frame={frame(c)}
        set={found.set.policy.name}
        snapshot={found.snapshot}
        relation={relation}
        plan={plan}
      />,
    );
  });
  return app;
}
