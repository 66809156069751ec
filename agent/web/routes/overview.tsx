/** `GET /`: the overview — every set's readiness, problems first, the data sets and the ledger's state. */
import { Hono } from 'hono';
import { overviewRows } from '../overview-rows.js';
import { OverviewPage } from '../pages/overview-page.js';
import type { ConsoleKit } from './console-kit.js';

/** The overview route. */
export function overviewRoutes(kit: ConsoleKit): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const view = await kit.ctx.estate();
    const current = kit.frame(c);
    return kit.page(
      c,
      <OverviewPage
        frame={current}
        rows={overviewRows(view.sets, current.now, view.evidence.ok)}
        evidence={view.evidence}
        datasets={view.datasets}
      />,
    );
  });
  return app;
}
