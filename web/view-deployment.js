// A deployment: status and deployed commit, redeploy, deploy history with
// messages, schedules (toggle, health strip of the latest runs, success rate,
// last and next run, run now), run a job, secrets.
import { get, patch, post, u } from './api.js';
import {
  absolute,
  act,
  at,
  badge,
  duration,
  environmentLabel,
  h,
  muted,
  notify,
  replace,
  section,
  sha,
  table,
  when,
} from './dom.js';
import { apiForm } from './forms.js';
import { breadcrumbs, fact, secretsSection } from './view-project.js';

const ACTIVE_DEPLOY = new Set(['queued', 'running']);
/** Runs per schedule in the health strip and its success rate. */
const RUNS = 30;

export async function deploymentView(ctx) {
  const { org } = ctx;
  const [projectRef, deploymentRef] = ctx.params.slice(1);
  const projectApi = u`/orgs/${org.slug}/projects/${projectRef}`;
  const api = projectApi + u`/deployments/${deploymentRef}`;
  const [project, first] = await Promise.all([get(projectApi), get(api)]);
  const runsHref = (run) =>
    `#/o/${encodeURIComponent(org.slug)}/runs/${encodeURIComponent(run.id)}`;

  let deployment = first;
  let deploys = [];
  const summary = h('div', {});
  const schedulesBox = h('div', {});
  const deploysBox = h('div', {});
  let healthById = new Map();
  const failingIds = (x) => healthById.get(x.id)?.failing ?? false;

  const startRun = async (body) => {
    const key = globalThis.crypto?.randomUUID?.();
    const run = await post(`${api}/runs`, body, key ? { 'idempotency-key': key } : {});
    ctx.navigate(runsHref(run));
  };

  const renderSummary = () => {
    const d = deployment;
    const redeploy = ctx.can('deployment:write')
      ? h(
          'button',
          { type: 'button', onclick: (e) => void act(e.currentTarget, doRedeploy) },
          'Redeploy',
        )
      : null;
    replace(
      summary,
      h(
        'dl',
        { class: 'facts' },
        fact(
          'Status',
          h(
            'span',
            {},
            badge(d.status),
            d.status_message ? h('span', { class: 'status-message' }, ' ', d.status_message) : null,
          ),
        ),
        fact('Environment', environmentLabel(d.environment)),
        fact('Branch', h('code', {}, d.branch)),
        fact('Deployed commit', sha(d.deployed_commit_sha)),
        fact('Deployed', when(d.deployed_at)),
        fact('Run timeout', duration(d.run_timeout_seconds)),
        fact(
          'Concurrent runs',
          `${d.max_concurrent_runs} at most, ${d.concurrency_policy === 'skip' ? 'skip' : 'queue'} when busy`,
        ),
        fact('Missed ticks', d.missed_run_policy === 'skip' ? 'skipped' : 'run once'),
      ),
      h(
        'div',
        { class: 'actions' },
        redeploy,
        h(
          'a',
          {
            class: 'button secondary',
            href: `#/o/${encodeURIComponent(org.slug)}/runs?deployment=${encodeURIComponent(d.id)}`,
          },
          'Run history',
        ),
        h(
          'a',
          {
            class: 'button secondary',
            href: `#/o/${encodeURIComponent(org.slug)}/p/${encodeURIComponent(project.slug)}/d/${encodeURIComponent(d.slug)}/state`,
          },
          'Meltano state',
        ),
      ),
    );
  };

  const doRedeploy = async () => {
    await post(`${api}/deploys`);
    notify('Redeploy queued: reading meltano.yml at the branch head.');
    await refresh();
  };

  /** The latest runs as coloured marks, oldest left; each links to its run, hover tells when, how long, how it ended. */
  const strip = (health) => {
    if (!health || !health.runs.length) return muted('no runs yet');
    return h(
      'span',
      { class: 'run-strip', role: 'list', 'aria-label': `Latest ${health.runs.length} runs` },
      [...health.runs].reverse().map((r) => {
        const tip = `${absolute(r.queued_at)} · ${duration(r.duration_seconds)} · ${r.status.replace(/_/g, ' ')}${r.status_reason ? ` (${r.status_reason})` : ''}`;
        return h(
          'a',
          {
            class: `mark mark-${r.status}`,
            role: 'listitem',
            href: runsHref(r),
            title: tip,
            'aria-label': tip,
            'data-status': r.status,
          },
          '',
        );
      }),
    );
  };

  const rate = (health) =>
    !health || health.success_rate === null
      ? muted('—')
      : h(
          'span',
          {
            class: `num rate${health.success_rate < 0.8 ? ' rate-low' : ''}`,
            title: `${Math.round(health.success_rate * health.counted_runs)} of ${health.counted_runs} finished runs succeeded (cancelled and skipped runs are not counted)`,
          },
          `${Math.round(health.success_rate * 100)}%`,
        );

  const scheduleRow = (s) => {
    const health = healthById.get(s.id);
    const toggle = h('input', {
      type: 'checkbox',
      role: 'switch',
      class: 'switch',
      checked: s.enabled,
      disabled: !ctx.can('schedule:toggle') || (!s.valid && !s.enabled),
      'aria-label': `Enable schedule ${s.name}`,
    });
    const perDay =
      s.runs_per_day === null || s.runs_per_day === undefined || !s.cron
        ? null
        : `${s.runs_per_day}/day`; // computed and rounded once, by the API (as the CLI prints it)
    const row = h(
      'tr',
      { 'data-schedule': s.name, class: health?.failing ? 'failing' : null },
      h(
        'td',
        { 'data-label': 'Enabled' },
        h(
          'label',
          { class: 'toggle' },
          toggle,
          h('span', { 'aria-hidden': 'true' }, s.enabled ? 'On' : 'Off'),
        ),
      ),
      h(
        'td',
        { 'data-label': 'Schedule' },
        h('strong', {}, s.name),
        health?.failing ? [' ', badge('failing')] : null,
        h(
          'div',
          { class: 'muted small' },
          s.job ? `job ${s.job}` : [s.extractor, s.loader, s.transform].filter(Boolean).join(' → '),
        ),
        s.valid
          ? null
          : h('div', { class: 'invalid small' }, badge('invalid'), ' ', s.invalid_reason),
      ),
      h(
        'td',
        { 'data-label': 'Interval' },
        h('code', {}, s.interval ?? s.cron ?? '—'),
        s.cron && s.cron !== s.interval
          ? h('div', { class: 'muted small' }, h('code', {}, s.cron))
          : null,
        perDay ? h('div', { class: 'muted small runs-per-day' }, perDay) : null,
        s.timezone !== 'UTC' || s.offset_seconds
          ? h(
              'div',
              { class: 'muted small' },
              s.timezone,
              s.offset_seconds ? ` +${duration(s.offset_seconds)}` : '',
            )
          : null,
      ),
      h('td', { 'data-label': 'Latest runs' }, strip(health)),
      h('td', { 'data-label': `Success (last ${RUNS})` }, rate(health)),
      h(
        'td',
        { 'data-label': 'Last run' },
        health?.last_run_at
          ? [badge(health.last_status), ' ', when(health.last_run_at)]
          : muted('never'),
      ),
      h(
        'td',
        { 'data-label': 'Next run' },
        s.enabled && s.upcoming[0] ? at(s.upcoming[0]) : muted(s.enabled ? '—' : 'disabled'),
      ),
      h(
        'td',
        {},
        ctx.can('run:write')
          ? h(
              'button',
              {
                type: 'button',
                class: 'small',
                disabled: !s.valid,
                'aria-label': `Run schedule ${s.name} now`,
                onclick: (e) => void act(e.currentTarget, () => startRun({ schedule: s.name })),
              },
              'Run now',
            )
          : null,
      ),
    );
    toggle.addEventListener('change', () => {
      const wanted = toggle.checked;
      void act(toggle, async () => {
        try {
          const updated = await patch(`${api}/schedules/${encodeURIComponent(s.name)}`, {
            enabled: wanted,
          });
          row.replaceWith(scheduleRow(updated));
          notify(`Schedule ${s.name} ${updated.enabled ? 'enabled' : 'disabled'}.`);
        } catch (err) {
          toggle.checked = !wanted;
          throw err;
        }
      });
    });
    return row;
  };

  const loadSchedules = async () => {
    const [schedules, health] = await Promise.all([
      get(`${api}/schedules?page_size=250`).then((page) => page.results),
      get(`${api}/schedule-health?runs=${RUNS}`).then((page) => page.results),
    ]);
    healthById = new Map(health.map((x) => [x.schedule_id, x]));
    const failing = schedules.filter((x) => healthById.get(x.id)?.failing);
    // Failing schedules first, so they stand out at a glance.
    schedules.sort((a, b) => Number(failingIds(b)) - Number(failingIds(a)));
    replace(
      schedulesBox,
      failing.length
        ? h(
            'p',
            { class: 'warning failing-summary', role: 'status' },
            `${failing.length} schedule${failing.length === 1 ? ' is' : 's are'} failing: `,
            failing.map((x) => x.name).join(', '),
          )
        : null,
      table(
        'Schedules',
        [
          'Enabled',
          'Schedule',
          'Interval',
          'Latest runs',
          `Success (last ${RUNS})`,
          'Last run',
          'Next run',
          '',
        ],
        schedules.map(scheduleRow),
        deployment.status === 'ready'
          ? 'meltano.yml declares no schedules for this deployment.'
          : 'Schedules appear once the deployment has read meltano.yml.',
        { stack: true },
      ),
    );
  };

  const loadDeploys = async () => {
    deploys = (await get(`${api}/deploys?page_size=20`)).results;
    replace(
      deploysBox,
      table(
        'Deploys',
        ['Requested', 'Trigger', 'Branch', 'Commit', 'Status', 'Took', 'Message'],
        deploys.map((d) => [
          when(d.created_at),
          d.trigger,
          h('code', {}, d.branch),
          sha(d.commit_sha),
          badge(d.status),
          d.started_at && d.finished_at
            ? duration((Date.parse(d.finished_at) - Date.parse(d.started_at)) / 1000)
            : muted('—'),
          d.message ? h('div', { class: 'message' }, d.message) : muted('—'),
        ]),
        'No deploys yet.',
      ),
    );
  };

  const busy = () =>
    deployment.status === 'new' ||
    deployment.status === 'deploying' ||
    deploys.some((d) => ACTIVE_DEPLOY.has(d.status));

  let following = false;
  const refresh = async () => {
    deployment = await get(api);
    renderSummary();
    await loadDeploys();
    const was = following;
    following = busy();
    if (was && !following) await loadSchedules(); // a finished deploy may have changed them
  };

  renderSummary();
  await Promise.all([loadSchedules(), loadDeploys()]);

  const runJob = ctx.can('run:write')
    ? apiForm({
        label: 'Run a job now',
        inline: true,
        fields: [
          {
            name: 'job',
            label: 'Job name (from meltano.yml)',
            required: true,
            placeholder: 'load',
          },
        ],
        submit: 'Run job',
        onSubmit: (values) => startRun({ job: values.job }),
      })
    : null;

  ctx.show(
    breadcrumbs(org, project, deployment),
    h('h1', {}, `${project.name} / ${deployment.name}`),
    summary,
    section('Schedules', schedulesBox, runJob ? h('h3', {}, 'Run a job now') : null, runJob),
    section('Deploys', deploysBox),
    await secretsSection(ctx, `${api}/secrets`, {
      title: 'Deployment secret overrides',
      intro: 'They replace project secrets of the same name for this deployment only.',
    }),
  );

  // Follow a deploy in flight (also one started here with Redeploy).
  following = busy();
  ctx.every(2000, () => (following ? refresh() : undefined));
}
