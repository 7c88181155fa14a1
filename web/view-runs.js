// Run history (filters: status, schedule, deployment, date range; stacked
// cards on a phone) and one run: its id and CLI command, timeline,
// cancel/retry, credits, and its log followed live over Server-Sent Events
// (search, download, links to a line as #L<seq>).
import { get, post, qs, u } from './api.js';
import {
  absolute,
  act,
  at,
  badge,
  copyButton,
  duration,
  h,
  loadMoreButton,
  muted,
  notify,
  replace,
  section,
  sha,
  table,
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

/** As the CLI's `history` says it (STARTED BY). */
const TRIGGERS = {
  schedule: 'schedule',
  manual: 'dashboard',
  api: 'API',
  cli: 'CLI',
  retry: 'retry',
};

/** How the run started and who started it: "CLI · Ada (ada)". */
export function startedBy(run) {
  const how = TRIGGERS[run.trigger] ?? run.trigger;
  const who = run.triggered_by;
  if (!who) return h('span', { class: 'started-by' }, how);
  return h(
    'span',
    { class: 'started-by' },
    how,
    ' · ',
    h(
      'span',
      { class: 'who', title: who.login },
      who.name && who.name !== who.login ? `${who.name} (${who.login})` : who.login,
    ),
  );
}

/** `YYYY-MM-DD` (a date input's value) → the start or the end of that day in the browser's zone, as ISO. */
export function dayBound(day, end) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day ?? '')) return undefined;
  const [y, m, d] = day.split('-').map(Number);
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Meltano prints its own timestamp first: the log shows one per line, ours (the time the line arrived). */
const LEADING_TIMESTAMP =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+/;
export const withoutTimestamp = (line) => line.replace(LEADING_TIMESTAMP, '');

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
    from: ctx.query.get('from') ?? '',
    to: ctx.query.get('to') ?? '',
  };
  /** The API's query: the date range as instants of the browser's time zone. */
  const apiFilters = {
    status: filters.status,
    schedule: filters.schedule,
    deployment: filters.deployment,
    since: dayBound(filters.from, false),
    until: dayBound(filters.to, true),
  };
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
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
    filterField(
      'From',
      h('input', { id: 'filter-from', name: 'from', type: 'date', value: filters.from }),
    ),
    filterField('To', h('input', { id: 'filter-to', name: 'to', type: 'date', value: filters.to })),
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
    startedBy(r),
    at(r.queued_at),
    h('span', { class: 'num' }, duration(runSeconds(r))),
    sha(r.commit_sha),
  ];
  const draw = () => {
    replace(
      listBox,
      table(
        'Runs',
        ['Status', 'Schedule / job', 'Deployment', 'Started', 'Queued', 'Duration', 'Commit'],
        runs.map(row),
        Object.values(filters).some(Boolean)
          ? 'No runs match these filters.'
          : 'No runs yet. Enable a schedule or use “Run now” on a deployment.',
        { stack: true },
      ),
    );
    replace(
      more,
      next
        ? loadMoreButton(async () => {
            const page = await get(api + qs({ ...apiFilters, page_size: 50, page_token: next }));
            runs = runs.concat(page.results);
            next = page.pagination?.next_page_token ?? null;
            pages += 1;
            draw();
          })
        : null,
    );
  };
  const loadFirst = async () => {
    const page = await get(api + qs({ ...apiFilters, page_size: 50 }));
    runs = page.results;
    next = page.pagination?.next_page_token ?? null;
    draw();
  };
  await loadFirst();

  ctx.show(
    h('h1', {}, 'Runs'),
    filterForm,
    section(
      'History',
      h(
        'p',
        { class: 'hint' },
        `Times in your time zone (${zone}); hover a time for how long ago.`,
      ),
      listBox,
      more,
    ),
  );
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
  const here = `#/o/${encodeURIComponent(org.slug)}/runs/${encodeURIComponent(run.id)}`;
  const follow = `meltano-cloud logs print --execution-id ${run.id} --follow`;

  const head = h('div', {});
  const timeline = h('div', {});
  const logBox = h('div', { class: 'log', role: 'log', 'aria-label': 'Run log', tabindex: '0' });
  const logState = h('p', { class: 'muted small log-state' });

  const fact = (label, ...value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  const idCode = h('code', { class: 'run-id' }, run.id);
  const followCode = h('code', { class: 'cli-command' }, follow);
  const identity = h(
    'dl',
    { class: 'facts identity' },
    fact('Run id', idCode, ' ', copyButton(run.id, 'Copy the run id', idCode)),
    fact(
      'Follow it in a terminal',
      followCode,
      ' ',
      copyButton(follow, 'Copy the CLI command', followCode),
    ),
  );

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
                  run = { ...run, ...(await post(`${api}/cancel`)) };
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
        fact('Deployment', deploymentLabel(org, index, run.deployment_id)),
        fact('Started', startedBy(run), run.attempt > 1 ? ` (attempt ${run.attempt})` : ''),
        fact('Queued', at(run.queued_at)),
        fact('Commit', sha(run.commit_sha)),
        fact('Duration', duration(runSeconds(run))),
        fact('Timeout', duration(run.timeout_seconds)),
        fact(
          'Credits',
          h(
            'span',
            { class: 'num', 'data-figure': 'credits' },
            typeof run.credits === 'number'
              ? run.credits.toFixed(1)
              : muted(ACTIVE.has(run.status) ? 'counted when it ends' : '—'),
          ),
        ),
        fact('Exit code', run.exit_code === null ? '—' : String(run.exit_code)),
      ),
      h('div', { class: 'actions' }, cancel, retry),
    );
  };

  const STEP_LABELS = {
    queued: 'Waiting in the queue',
    clone: 'Cloning the repository',
    install: 'Installing plugins',
    pipeline: 'Pipeline',
  };
  const drawTimeline = () => {
    // The API's steps (queued, clone, install, pipeline), each once it began; only the
    // pipeline is billed, so what a cold start costs shows as its own rows.
    const rows = (run.steps ?? []).map((step) => [
      h('span', { 'data-step': step.name }, STEP_LABELS[step.name] ?? step.name),
      h('time', { datetime: step.started_at }, absolute(step.started_at)),
      step.duration_seconds === null
        ? muted(step.finished_at ? '—' : 'in progress')
        : duration(step.duration_seconds),
      [step.billed ? 'billed' : 'not billed', step.note ? ` · ${step.note}` : ''].join(''),
    ]);
    if (run.tick_at)
      rows.unshift([
        'Scheduled tick',
        h('time', { datetime: run.tick_at }, absolute(run.tick_at)),
        '—',
        '',
      ]);
    rows.push([
      'Finished',
      run.finished_at
        ? h('time', { datetime: run.finished_at }, absolute(run.finished_at))
        : muted('not yet'),
      '—',
      '',
    ]);
    replace(timeline, table('Timeline', ['Step', 'Began', 'Took', 'Billing'], rows));
  };

  const draw = () => {
    drawHead();
    drawTimeline();
  };
  draw();

  // ---- the log: search, download, links to a line ----------------------------------------------
  let wantedLine = ctx.line ?? null; // from #L<seq> in the address
  let query = '';
  let total = 0;
  let shown = 0;
  const matchCount = h('span', { class: 'muted small match-count', role: 'status' });
  const search = h('input', {
    type: 'search',
    id: 'log-search',
    placeholder: 'Search the log',
    'aria-label': 'Search the log',
    autocomplete: 'off',
  });

  const drawText = (line) => {
    const text = line.querySelector('.log-text');
    const raw = line.dataset.text;
    if (!query) {
      text.textContent = raw;
      return true;
    }
    const lower = raw.toLowerCase();
    let from = 0;
    let hit = lower.indexOf(query, from);
    if (hit < 0) return false;
    const parts = [];
    while (hit >= 0) {
      parts.push(raw.slice(from, hit), h('mark', {}, raw.slice(hit, hit + query.length)));
      from = hit + query.length;
      hit = lower.indexOf(query, from);
    }
    parts.push(raw.slice(from));
    replace(text, parts);
    return true;
  };
  const showMatches = () => {
    matchCount.textContent = query
      ? `${shown} of ${total} line${total === 1 ? '' : 's'} match`
      : total
        ? `${total} line${total === 1 ? '' : 's'}`
        : '';
  };
  const applySearch = () => {
    query = search.value.trim().toLowerCase();
    shown = 0;
    for (const line of logBox.children) {
      const hit = drawText(line);
      line.hidden = !hit;
      if (hit) shown += 1;
    }
    showMatches();
  };
  search.addEventListener('input', applySearch);

  const highlight = (seq, scroll) => {
    for (const el of logBox.querySelectorAll('.log-line.selected')) el.classList.remove('selected');
    const line = document.getElementById(`L${seq}`);
    if (!line) return false;
    line.classList.add('selected');
    if (scroll) line.scrollIntoView({ block: 'center' });
    return true;
  };

  const download = h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      onclick: (e) =>
        void act(e.currentTarget, async () => {
          const out = [];
          for (let after = 0; ;) {
            const page = await get(`${api}/logs${qs({ after_seq: after, limit: 5000 })}`);
            for (const l of page.lines) out.push(`${l.timestamp} ${withoutTimestamp(l.line)}`);
            if (page.lines.length < 5000) break;
            after = page.next_after_seq;
          }
          const url = URL.createObjectURL(
            new window.Blob([out.join('\n') + (out.length ? '\n' : '')], { type: 'text/plain' }),
          );
          const link = h('a', { href: url, download: `run-${run.id}.log`, hidden: true });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        }),
    },
    'Download log',
  );

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
    identity,
    section('Timeline', timeline),
    section(
      'Log',
      h('div', { class: 'log-tools' }, search, matchCount, download),
      logState,
      logBox,
    ),
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
      const at = new Date(l.timestamp);
      const line = h(
        'div',
        { class: `log-line log-${l.stream}`, id: `L${l.seq}`, 'data-seq': l.seq },
        h(
          'a',
          {
            class: 'log-num',
            href: `${here}#L${l.seq}`,
            'aria-label': `Link to line ${l.seq}`,
            onclick: (e) => {
              e.preventDefault();
              // The address names the line without re-rendering the page.
              window.history.replaceState(null, '', `${location.pathname}${here}#L${l.seq}`);
              highlight(l.seq, false);
            },
          },
          String(l.seq),
        ),
        h(
          'time',
          { class: 'log-time', datetime: l.timestamp, title: absolute(l.timestamp) },
          at.toLocaleTimeString(),
        ),
        h('span', { class: 'log-text' }),
      );
      line.dataset.text = withoutTimestamp(l.line);
      total += 1;
      const hit = drawText(line);
      line.hidden = !hit;
      if (hit) shown += 1;
      frag.append(line);
    }
    logBox.append(frag);
    showMatches();
    // A line named in the address (#L12) is scrolled to once it has arrived.
    if (wantedLine !== null && highlight(wantedLine, true)) wantedLine = null;
    else if (follow) logBox.scrollTop = logBox.scrollHeight;
  };
  const connect = () => {
    if (ctx.signal.aborted || ended) return;
    logState.textContent = 'Following the log live…';
    source = new EventSource(`${api}/logs/stream?after_seq=${lastSeq}`);
    source.addEventListener('line', (e) => addLines([JSON.parse(e.data)]));
    source.addEventListener('end', (e) => {
      ended = true;
      source.close();
      run = { ...run, ...JSON.parse(e.data), triggered_by: run.triggered_by };
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
