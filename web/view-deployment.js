// A deployment: status and deployed commit, redeploy, deploy history with
// messages, schedules (toggle, next fire time, run now), run a job, secrets.
import { get, patch, post, u } from './api.js';
import {
  act,
  badge,
  duration,
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
        fact(
          'Environment',
          d.environment === null ? h('em', {}, '(no environment)') : h('code', {}, d.environment),
        ),
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
      ),
    );
  };

  const doRedeploy = async () => {
    await post(`${api}/deploys`);
    notify('Redeploy queued: reading meltano.yml at the branch head.');
    await refresh();
  };

  const scheduleRow = (s) => {
    const toggle = h('input', {
      type: 'checkbox',
      role: 'switch',
      class: 'switch',
      checked: s.enabled,
      disabled: !ctx.can('schedule:toggle') || (!s.valid && !s.enabled),
      'aria-label': `Enable schedule ${s.name}`,
    });
    const row = h(
      'tr',
      { 'data-schedule': s.name },
      h(
        'td',
        {},
        h(
          'label',
          { class: 'toggle' },
          toggle,
          h('span', { 'aria-hidden': 'true' }, s.enabled ? 'On' : 'Off'),
        ),
      ),
      h(
        'td',
        {},
        h('strong', {}, s.name),
        h(
          'div',
          { class: 'muted small' },
          s.job ? `job ${s.job}` : [s.extractor, s.loader, s.transform].filter(Boolean).join(' → '),
        ),
      ),
      h(
        'td',
        {},
        h('code', {}, s.interval ?? s.cron ?? '—'),
        s.cron && s.cron !== s.interval
          ? h('div', { class: 'muted small' }, h('code', {}, s.cron))
          : null,
        s.timezone !== 'UTC' || s.offset_seconds
          ? h(
              'div',
              { class: 'muted small' },
              s.timezone,
              s.offset_seconds ? ` +${duration(s.offset_seconds)}` : '',
            )
          : null,
      ),
      h(
        'td',
        {},
        s.enabled && s.upcoming[0] ? when(s.upcoming[0]) : muted(s.enabled ? '—' : 'disabled'),
      ),
      h(
        'td',
        { class: 'num' },
        s.runs_per_day === null || s.runs_per_day === undefined
          ? '—'
          : String(Math.round(s.runs_per_day * 100) / 100),
      ),
      h(
        'td',
        {},
        s.valid
          ? muted('OK')
          : h('span', { class: 'invalid' }, badge('invalid'), ' ', s.invalid_reason),
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
    const schedules = (await get(`${api}/schedules?page_size=250`)).results;
    replace(
      schedulesBox,
      table(
        'Schedules',
        ['Enabled', 'Schedule', 'Interval', 'Next run', 'Runs/day', 'Problems', ''],
        schedules.map(scheduleRow),
        deployment.status === 'ready'
          ? 'meltano.yml declares no schedules for this deployment.'
          : 'Schedules appear once the deployment has read meltano.yml.',
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
