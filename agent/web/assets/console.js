// @ts-check
/**
 * vouch web console: a little progressive enhancement over server-rendered pages, each of which
 * works without it.
 *
 * - Live refresh: polls /api/jobs (every 2 s while a scan or drill runs, every 10 s otherwise, not
 *   while the tab is hidden). While jobs run, when one ends, and while the page says its data is
 *   pending, it fetches the page again and swaps the regions marked `data-live` (matched by id),
 *   keeping what the reader typed, which sections are open and where the focus is.
 * - Path filters: `input[data-filter=ID]` hides rows of `#ID` whose `data-path` does not contain
 *   the text, and says how many match.
 * - Printing opens every collapsed section, and closes them again afterwards.
 */

const RUNNING_POLL_MS = 2000;
const IDLE_POLL_MS = 10000;

/** @param {ParentNode} root */
function reveal(root) {
  for (const element of root.querySelectorAll('[data-needs-script]')) {
    /** @type {HTMLElement} */ (element).hidden = false;
  }
}

/** @param {HTMLInputElement} input */
function applyFilter(input) {
  const scope = document.getElementById(input.dataset.filter ?? '');
  if (!scope) return;
  const query = input.value.trim().toLowerCase();
  let shown = 0;
  let total = 0;
  for (const group of scope.querySelectorAll('[data-group]')) {
    let groupShown = 0;
    for (const details of group.querySelectorAll('details[data-subgroup]')) {
      let subgroupShown = 0;
      for (const row of details.querySelectorAll('tr[data-path]')) {
        const match = query === '' || (row.getAttribute('data-path') ?? '').toLowerCase().includes(query);
        /** @type {HTMLElement} */ (row).hidden = !match;
        total++;
        if (match) subgroupShown++;
      }
      /** @type {HTMLElement} */ (details).hidden = subgroupShown === 0;
      if (query !== '' && subgroupShown > 0) /** @type {HTMLDetailsElement} */ (details).open = true;
      const countLabel = details.querySelector('[data-count]');
      const rows = details.querySelectorAll('tr[data-path]').length;
      if (countLabel)
        countLabel.textContent =
          query === '' ? `${rows} ${rows === 1 ? 'path' : 'paths'}` : `${subgroupShown} of ${rows} paths`;
      groupShown += subgroupShown;
    }
    /** @type {HTMLElement} */ (group).hidden = query !== '' && groupShown === 0;
    shown += groupShown;
  }
  const result = input.parentElement?.querySelector('[data-filter-result]');
  if (result) result.textContent = query === '' ? '' : `${shown} of ${total} listed paths match`;
}

function applyAllFilters() {
  for (const input of document.querySelectorAll('input[data-filter]'))
    applyFilter(/** @type {HTMLInputElement} */ (input));
}

/** What the reader changed, to carry over a refresh. */
function captureState() {
  /** @type {Map<string, string>} */
  const values = new Map();
  for (const field of document.querySelectorAll('main input[id], main select[id]')) {
    values.set(field.id, /** @type {HTMLInputElement | HTMLSelectElement} */ (field).value);
  }
  /** @type {Map<string, boolean>} */
  const open = new Map();
  for (const details of document.querySelectorAll('main details[id]'))
    open.set(details.id, /** @type {HTMLDetailsElement} */ (details).open);
  const focused = document.activeElement && document.activeElement.id ? document.activeElement.id : null;
  return { values, open, focused };
}

/** @param {ReturnType<typeof captureState>} state */
function restoreState(state) {
  for (const [id, value] of state.values) {
    const field = /** @type {HTMLInputElement | HTMLSelectElement | null} */ (document.getElementById(id));
    if (field) field.value = value;
  }
  for (const details of document.querySelectorAll('main details[id]')) {
    const open = state.open.get(details.id);
    if (open !== undefined) /** @type {HTMLDetailsElement} */ (details).open = open;
  }
  if (state.focused) document.getElementById(state.focused)?.focus({ preventScroll: true });
  reveal(document);
  applyAllFilters();
}

let refreshing = false;

/** Fetches the page again and swaps its live regions. */
async function refreshPage() {
  if (refreshing) return;
  refreshing = true;
  try {
    const response = await fetch(location.href, {
      headers: { accept: 'text/html' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (response.redirected || response.status === 401) {
      // The session ended: the server sends the browser to the sign-in form.
      location.reload();
      return;
    }
    if (!response.ok) return;
    const next = new DOMParser().parseFromString(await response.text(), 'text/html');
    const state = captureState();
    for (const region of document.querySelectorAll('[data-live]')) {
      const replacement = next.getElementById(region.id);
      if (!replacement) continue;
      region.replaceChildren(...Array.from(replacement.childNodes));
      for (const name of ['data-pending']) {
        const value = replacement.getAttribute(name);
        if (value === null) region.removeAttribute(name);
        else region.setAttribute(name, value);
      }
    }
    const jobs = next.body.getAttribute('data-jobs');
    if (jobs) document.body.setAttribute('data-jobs', jobs);
    restoreState(state);
    const stamp = document.getElementById('refreshed');
    if (stamp) stamp.textContent = `· updated ${new Date().toISOString().slice(11, 19)}Z`;
  } catch {
    // vouch is restarting or unreachable: the next poll tries again.
  } finally {
    refreshing = false;
  }
}

let lastJobs = '';
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

async function poll() {
  clearTimeout(timer);
  let delay = IDLE_POLL_MS;
  try {
    if (!document.hidden) {
      const response = await fetch('/api/jobs', {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (response.status === 401) {
        location.reload();
        return;
      }
      if (response.ok) {
        /** @type {{ jobs: { id: string; status: string }[] }} */
        const body = await response.json();
        const active = body.jobs.some((job) => job.status === 'running' || job.status === 'queued');
        const signature = body.jobs
          .slice(0, 50)
          .map((job) => `${job.id}:${job.status}`)
          .join(',');
        const pending = document.getElementById('main')?.getAttribute('data-pending') === 'true';
        if (active || pending || (lastJobs !== '' && signature !== lastJobs)) await refreshPage();
        lastJobs = signature;
        if (active || pending) delay = RUNNING_POLL_MS;
      }
    }
  } catch {
    // Not reachable right now: keep polling at the idle pace.
  }
  timer = setTimeout(poll, delay);
}

document.addEventListener('input', (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement && target.dataset.filter) applyFilter(target);
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void poll();
});

/** @type {HTMLDetailsElement[]} */
let openedForPrint = [];
window.addEventListener('beforeprint', () => {
  openedForPrint = Array.from(document.querySelectorAll('details:not([open])'));
  for (const details of openedForPrint) details.open = true;
});
window.addEventListener('afterprint', () => {
  for (const details of openedForPrint) details.open = false;
  openedForPrint = [];
});

reveal(document);
applyAllFilters();
timer = setTimeout(
  poll,
  document.body.getAttribute('data-jobs') === 'running' ||
    document.getElementById('main')?.getAttribute('data-pending') === 'true'
    ? RUNNING_POLL_MS
    : 0,
);
