// Run history (filters: status, schedule, deployment) and one run: its
// timeline, cancel/retry, and its log followed live over Server-Sent Events.
import { get, post, qs, u } from './api.js';
import {
  absolute,
  act,
  badge,
  duration,
  h,
  loadMoreButton,
  muted,
  notify,
  replace,
  section,
  sha,
  table,
  when,
} from './dom.js';

const STATUSES = [
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'skipped',
];
const ACTIVE = new Set(['queued', 'starting', 'running']);

/** A labelled control of the filter form (the label points at the control's id). */
const filterField = (label, control) =>
  h('div', { class: 'field' }, h('label', { for: control.id }, label), control);

/** Deployment id → { project, deployment } for an organization, kept for half a minute. */
const indexCache = new Map();
async function deploymentIndex(org) {
  const cached = indexCache.get(org.slug);
  if (cached && Date.now() - cached.at < 30_000) return cached.index;
  const projects = (await get(u`/orgs/${org.slug}/projects` + '?page_size=250')).results;
  const lists = await Promise.all(
    projects.map((p) =>
      get(u`/orgs/${org.slug}/projects/${p.slug}/deployments` + '?page_size=250'),
    ),
  );
  const index = new Map();
  projects.forEach((project, i) => {
    for (const deployment of lists[i].results) index.set(deployment.id, { project, deployment });
  });
  indexCache.set(org.slug, { at: Date.now(), index });
  return index;
}

/** Seconds the pipeline ran, or has run so far. */
export function runSeconds(run, now = Date.now()) {
  if (run.duration_seconds !== null && run.duration_seconds !== undefined)
    return run.duration_seconds;
  const from = run.pipeline_started_at ?? run.started_at;
  if (!from || !ACTIVE.has(run.status)) return null;
  return (now - Date.parse(from)) / 1000;
}

const runTarget = (run) => run.target || run.job_name || 'run';

function deploymentLabel(org, index, id) {
  const entry = index.get(id);
  if (!entry) return muted('deleted deployment');
  const { project, deployment } = entry;
  return h(
    'a',
    {
      href: `#/o/${encodeURIComponent(org.slug)}/p/${encodeURIComponent(project.slug)}/d/${encodeURIComponent(deployment.slug)}`,
    },
    `${project.name} / ${deployment.name}`,
  );
}

export async function runsView(ctx) {
  const { org } = ctx;
  const filters = {
    status: ctx.query.get('status') ?? '',
    schedule: ctx.query.get('schedule') ?? '',
    deployment: ctx.query.get('deployment') ?? '',
  };
  const index = await deploymentIndex(org);
  const byProject = new Map();
  for (const { project, deployment } of index.values()) {
    if (!byProject.has(project.id)) byProject.set(project.id, { project, deployments: [] });
    byProject.get(project.id).deployments.push(deployment);
  }

  const filterForm = h(
    'form',
    { class: 'form form-inline filters', 'aria-label': 'Filter runs', role: 'search' },
    filterField(
      'Status',
      h(
        'select',
        { id: 'filter-status', name: 'status', value: filters.status },
        h('option', { value: '' }, 'Any status'),
        STATUSES.map((s) => h('option', { value: s }, s.replace('_', ' '))),
      ),
    ),
    filterField(
      'Schedule or job',
      h('input', {
        id: 'filter-schedule',
        name: 'schedule',
        value: filters.schedule,
        placeholder: 'exact name',
      }),
    ),
    filterField(
      'Deployment',
      h(
        'select',
        { id: 'filter-deployment', name: 'deployment', value: filters.deployment },
        h('option', { value: '' }, 'All deployments'),
        [...byProject.values()].map(({ project, deployments }) =>
          h(
            'optgroup',
            { label: project.name },
            deployments.map((d) => h('option', { value: d.id }, `${project.name} / ${d.name}`)),
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit' }, 'Apply'),
      h(
        'a',
        { class: 'button secondary', href: `#/o/${encodeURIComponent(org.slug)}/runs` },
        'Clear',
      ),
    ),
  );
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(filterForm);
    ctx.navigate(
      `#/o/${encodeURIComponent(org.slug)}/runs${qs(Object.fromEntries([...data].map(([k, v]) => [k, String(v).trim()])))}`,
    );
  });

  const api = u`/orgs/${org.slug}/runs`;
  const listBox = h('div', {});
  const more = h('div', { class: 'actions' });
  let runs = [];
  let next = null;
  let pages = 1;

  const row = (r) => [
    badge(r.status),
    h(
      'a',
      { href: `#/o/${encodeURIComponent(org.slug)}/runs/${encodeURIComponent(r.id)}` },
      runTarget(r),
    ),
    deploymentLabel(org, index, r.deployment_id),
    r.trigger,
    when(r.queued_at),
    h('span', { class: 'num' }, duration(runSeconds(r))),
    sha(r.commit_sha),
  ];
  const draw = () => {
    replace(
      listBox,
      table(
        'Runs',
        ['Status', 'Schedule / job', 'Deployment', 'Trigger', 'Queued', 'Duration', 'Commit'],
        runs.map(row),
        Object.values(filters).some(Boolean)
          ? 'No runs match these filters.'
          : 'No runs yet. Enable a schedule or use “Run now” on a deployment.',
      ),
    );
    replace(
      more,
      next
        ? loadMoreButton(async () => {
            const page = await get(api + qs({ ...filters, page_size: 50, page_token: next }));
            runs = runs.concat(page.results);
            next = page.pagination?.next_page_token ?? null;
            pages += 1;
            draw();
          })
        : null,
    );
  };
  const loadFirst = async () => {
    const page = await get(api + qs({ ...filters, page_size: 50 }));
    runs = page.results;
    next = page.pagination?.next_page_token ?? null;
    draw();
  };
  await loadFirst();

  ctx.show(h('h1', {}, 'Runs'), filterForm, section('History', listBox, more));
  // Keep the first page fresh while something is in flight.
  ctx.every(5000, () =>
    pages === 1 && runs.some((r) => ACTIVE.has(r.status)) ? loadFirst() : undefined,
  );
}

export async function runView(ctx) {
  const { org } = ctx;
  const runId = ctx.params[1];
  const api = u`/orgs/${org.slug}/runs/${runId}`;
  const [first, index] = await Promise.all([get(api), deploymentIndex(org)]);
  let run = first;

  const head = h('div', {});
  const timeline = h('div', {});
  const logBox = h('div', { class: 'log', role: 'log', 'aria-label': 'Run log', tabindex: '0' });
  const logState = h('p', { class: 'muted small log-state' });

  const drawHead = () => {
    const cancel =
      ctx.can('run:write') && ACTIVE.has(run.status)
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: (e) =>
                void act(e.currentTarget, async () => {
                  run = await post(`${api}/cancel`);
                  notify(
                    run.status === 'cancelled'
                      ? 'Run cancelled.'
                      : 'Cancel requested: stopping the run.',
                  );
                  draw();
                }),
            },
            'Cancel run',
          )
        : null;
    const retry =
      ctx.can('run:write') && !ACTIVE.has(run.status)
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: (e) =>
                void act(e.currentTarget, async () => {
                  const again = await post(`${api}/retry`);
                  ctx.navigate(
                    `#/o/${encodeURIComponent(org.slug)}/runs/${encodeURIComponent(again.id)}`,
                  );
                }),
            },
            'Run again',
          )
        : null;
    replace(
      head,
      h(
        'p',
        { class: 'run-status' },
        badge(run.status),
        run.status_reason ? h('span', { class: 'status-message' }, ' ', run.status_reason) : null,
      ),
      run.waiting_reason && ACTIVE.has(run.status)
        ? h('p', { class: 'hint' }, 'Waiting: ', run.waiting_reason)
        : null,
      h(
        'dl',
        { class: 'facts' },
        h(
          'div',
          {},
          h('dt', {}, 'Deployment'),
          h('dd', {}, deploymentLabel(org, index, run.deployment_id)),
        ),
        h(
          'div',
          {},
          h('dt', {}, 'Trigger'),
          h('dd', {}, run.trigger, run.attempt > 1 ? ` (attempt ${run.attempt})` : ''),
        ),
        h('div', {}, h('dt', {}, 'Commit'), h('dd', {}, sha(run.commit_sha))),
        h('div', {}, h('dt', {}, 'Duration'), h('dd', {}, duration(runSeconds(run)))),
        h('div', {}, h('dt', {}, 'Timeout'), h('dd', {}, duration(run.timeout_seconds))),
        typeof run.credits === 'number'
          ? h('div', {}, h('dt', {}, 'Credits'), h('dd', { class: 'num' }, run.credits.toFixed(1)))
          : null,
        h(
          'div',
          {},
          h('dt', {}, 'Exit code'),
          h('dd', {}, run.exit_code === null ? '—' : String(run.exit_code)),
        ),
      ),
      h('div', { class: 'actions' }, cancel, retry),
    );
  };

  const drawTimeline = () => {
    const steps = [
      ['Scheduled tick', run.tick_at],
      ['Queued', run.queued_at],
      ['Admitted', run.admitted_at],
      ['Started', run.started_at],
      ['Pipeline started', run.pipeline_started_at],
      ['Finished', run.finished_at],
    ].filter(([label, at]) => label !== 'Scheduled tick' || at);
    let previous = null;
    replace(
      timeline,
      table(
        'Timeline',
        ['Step', 'At', 'After previous step'],
        steps.map(([label, at]) => {
          const gap =
            at && previous ? duration((Date.parse(at) - Date.parse(previous)) / 1000) : '—';
          if (at) previous = at;
          return [label, at ? h('time', { datetime: at }, absolute(at)) : muted('not yet'), gap];
        }),
      ),
    );
  };

  const draw = () => {
    drawHead();
    drawTimeline();
  };
  draw();

  ctx.show(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: `#/o/${encodeURIComponent(org.slug)}/runs` }, 'Runs'),
      ' / ',
      h('span', { 'aria-current': 'page' }, runTarget(run)),
    ),
    h('h1', {}, `Run: ${runTarget(run)}`),
    head,
    section('Timeline', timeline),
    section('Log', logState, logBox),
  );

  // The log: Server-Sent Events from after the last line we have; on a
  // dropped connection, reconnect from there (the stream ends with `end`).
  let lastSeq = 0;
  let source = null;
  let ended = false;
  const addLines = (lines) => {
    const follow = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 40;
    const frag = document.createDocumentFragment();
    for (const l of lines) {
      if (l.seq <= lastSeq) continue;
      lastSeq = l.seq;
      frag.append(
        h(
          'div',
          { class: `log-line log-${l.stream}` },
          h(
            'time',
            { class: 'log-time', datetime: l.timestamp },
            new Date(l.timestamp).toLocaleTimeString(),
          ),
          h('span', { class: 'log-text' }, l.line),
        ),
      );
    }
    logBox.append(frag);
    if (follow) logBox.scrollTop = logBox.scrollHeight;
  };
  const connect = () => {
    if (ctx.signal.aborted || ended) return;
    logState.textContent = 'Following the log live…';
    source = new EventSource(`${api}/logs/stream?after_seq=${lastSeq}`);
    source.addEventListener('line', (e) => addLines([JSON.parse(e.data)]));
    source.addEventListener('end', (e) => {
      ended = true;
      source.close();
      run = { ...run, ...JSON.parse(e.data) };
      draw();
      // The run as GET shows it carries what it cost (credits, from the usage ledger).
      get(api)
        .then((full) => {
          if (ctx.signal.aborted) return;
          run = full;
          draw();
        })
        .catch(() => undefined);
      logState.textContent = lastSeq
        ? `Run ${run.status.replace('_', ' ')}: end of log.`
        : `Run ${run.status.replace('_', ' ')}: no log lines.`;
    });
    source.addEventListener('error', () => {
      source.close();
      if (ended || ctx.signal.aborted) return;
      logState.textContent = 'Log connection lost; reconnecting…';
      setTimeout(connect, 2000);
    });
  };
  ctx.onCleanup(() => source?.close());
  connect();

  // Timestamps and status move while the run is in flight.
  ctx.every(3000, async () => {
    if (!ACTIVE.has(run.status)) return;
    run = await get(api);
    draw();
  });
}
