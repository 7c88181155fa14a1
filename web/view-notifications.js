// Notifications: channels (webhook / email) with their filters, switch on/off,
// test send and delete (admins); one channel's deliveries with every attempt.
import { del, get, patch, post, qs, u } from './api.js';
import {
  act,
  at,
  badge,
  copyButton,
  h,
  loadMoreButton,
  muted,
  notify,
  replace,
  section,
  table,
} from './dom.js';
import { apiForm } from './forms.js';

/** The events a channel can subscribe to (src/notifications/events.ts). */
const EVENTS = [
  ['run.failed', 'Run failed'],
  ['run.timed_out', 'Run timed out'],
  ['run.succeeded', 'Run succeeded'],
  ['run.cancelled', 'Run cancelled'],
  ['schedule.skipped', 'Schedule skipped'],
  ['deploy.failed', 'Deploy failed'],
  ['billing.limit_reached', 'Billing limit reached'],
];

/** One filter as a sentence: "run.failed or run.timed_out · deployment prod · schedule daily". */
const filterText = (f) =>
  [
    f.events.join(' or '),
    f.deployment ? `deployment ${f.deployment}` : null,
    f.schedule ? `schedule ${f.schedule}` : null,
  ]
    .filter(Boolean)
    .join(' · ');

export async function notificationsView(ctx) {
  const { org } = ctx;
  const api = u`/orgs/${org.slug}/notifications`;
  const base = `#/o/${encodeURIComponent(org.slug)}/notifications`;
  const canWrite = ctx.can('notification:write');
  const projects = (await get(u`/orgs/${org.slug}/projects` + '?page_size=250')).results;
  const projectName = new Map(projects.map((p) => [p.id, p.name]));
  const listBox = h('div', {});
  const secretBox = h('div', {});

  const load = async () => {
    const channels = (await get(`${api}?page_size=250`)).results;
    replace(
      listBox,
      table(
        'Notification channels',
        ['Channel', 'Scope', 'Filters (any of)', 'Active', ''],
        channels.map((c) => {
          const active = h('input', {
            type: 'checkbox',
            role: 'switch',
            class: 'switch',
            checked: c.active,
            disabled: !canWrite,
            'aria-label': `Channel ${c.target} active`,
          });
          active.addEventListener('change', () => {
            const wanted = active.checked;
            void act(active, async () => {
              try {
                await patch(`${api}/${c.id}`, { active: wanted });
                notify(`Channel ${wanted ? 'switched on' : 'switched off'}.`);
              } catch (err) {
                active.checked = !wanted;
                throw err;
              }
            });
          });
          return h(
            'tr',
            { 'data-channel': c.id },
            h(
              'td',
              { 'data-label': 'Channel' },
              badge(c.kind),
              c.slack ? [' ', badge('slack')] : null,
              ' ',
              h('a', { href: `${base}/${encodeURIComponent(c.id)}` }, c.target),
            ),
            h(
              'td',
              { 'data-label': 'Scope' },
              c.project_id ? (projectName.get(c.project_id) ?? muted('a project')) : 'organization',
            ),
            h(
              'td',
              { 'data-label': 'Filters (any of)' },
              h(
                'ul',
                { class: 'plain' },
                c.filters.map((f) => h('li', {}, filterText(f))),
              ),
            ),
            h('td', { 'data-label': 'Active' }, h('label', { class: 'toggle' }, active)),
            h(
              'td',
              {},
              h(
                'div',
                { class: 'actions tight' },
                h(
                  'a',
                  { class: 'button secondary small', href: `${base}/${encodeURIComponent(c.id)}` },
                  'Deliveries',
                ),
                canWrite ? testButton(ctx, api, c) : null,
                canWrite
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'danger small',
                        'aria-label': `Delete channel ${c.target}`,
                        onclick: (e) => {
                          if (!confirm(`Delete the channel ${c.target} and its delivery history?`))
                            return;
                          void act(e.currentTarget, async () => {
                            await del(`${api}/${c.id}`);
                            notify('Channel deleted.');
                            await load();
                          });
                        },
                      },
                      'Delete',
                    )
                  : null,
              ),
            ),
          );
        }),
        canWrite
          ? 'No channels yet. Add a webhook (Slack works too) or an email address below.'
          : 'No channels yet. An admin can add one.',
        { stack: true },
      ),
    );
  };
  await load();

  const form = canWrite
    ? apiForm({
        label: 'Add a notification channel',
        fields: [
          {
            name: 'kind',
            label: 'Kind',
            type: 'select',
            required: true,
            value: 'webhook',
            options: [
              { value: 'webhook', label: 'Webhook (Slack incoming webhooks too)' },
              { value: 'email', label: 'Email' },
            ],
          },
          {
            name: 'target',
            label: 'URL or email address',
            required: true,
            placeholder: 'https://hooks.slack.com/services/…',
          },
          {
            name: 'project',
            label: 'Project',
            type: 'select',
            value: '',
            options: [
              { value: '', label: 'Whole organization' },
              ...projects.map((p) => ({ value: p.slug, label: p.name })),
            ],
          },
          { name: 'deployment', label: 'Only deployment', placeholder: 'prod' },
          { name: 'schedule', label: 'Only schedule', placeholder: 'daily-load' },
        ],
        submit: 'Add channel',
        onSubmit: async (values, formEl) => {
          const events = [...formEl.querySelectorAll('input[name=events]:checked')].map(
            (i) => i.value,
          );
          const filter = { events };
          if (values.deployment) filter.deployment = values.deployment;
          if (values.schedule) filter.schedule = values.schedule;
          const body = { kind: values.kind, target: values.target, filters: [filter] };
          if (values.project) body.project = values.project;
          const created = await post(api, body).catch((err) => {
            for (const e of err.errors ?? []) {
              // filters[0].events → the checkboxes; filters[0].deployment → its field.
              const m = /^body\.filters(?:\.0)?\.?(\w+)?/.exec(e.field);
              if (m) e.field = m[1] === 'deployment' || m[1] === 'schedule' ? m[1] : 'events';
            }
            throw err;
          });
          formEl.reset();
          notify('Channel added.');
          replace(
            secretBox,
            created.signing_secret
              ? h(
                  'div',
                  { class: 'warning signing-secret', role: 'status' },
                  h(
                    'p',
                    {},
                    'Signing secret of the new webhook — shown only now. Verify the ',
                    h('code', {}, 'X-MeltanoCloud-Signature'),
                    ' header of each delivery with it:',
                  ),
                  h('code', { class: 'secret-once' }, created.signing_secret),
                  ' ',
                  copyButton(created.signing_secret, 'Copy the signing secret'),
                )
              : null,
          );
          await load();
        },
      })
    : null;
  if (form) {
    // Events are checkboxes (one filter: any of these events, and the deployment/schedule if set).
    const error = h('p', { class: 'field-error', id: 'events-error', hidden: true });
    const box = h(
      'fieldset',
      { class: 'field events', 'aria-describedby': 'events-error' },
      h('legend', {}, 'Events'),
      EVENTS.map(([value, label]) => {
        const input = h('input', { type: 'checkbox', name: 'events', value });
        // The default survives form.reset(): run failures, the usual choice.
        input.defaultChecked = value === 'run.failed' || value === 'run.timed_out';
        input.checked = input.defaultChecked;
        return h('label', { class: 'check' }, input, ' ', label);
      }),
      error,
    );
    form.controls.set('events', { input: box, error, spec: { name: 'events' } });
    form.controls.get('project').input.closest('.field').before(box);
  }

  ctx.show(
    h('h1', {}, 'Notifications'),
    h(
      'p',
      { class: 'subtitle' },
      'Where run, deploy and billing events go. A channel hears an event when any of its filters matches.',
    ),
    section('Channels', secretBox, listBox),
    form ? section('New channel', form) : null,
  );
}

function testButton(ctx, api, c) {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'aria-label': `Send a test to ${c.target}`,
      onclick: (e) =>
        void act(e.currentTarget, async () => {
          await post(`${api}/${c.id}/test`);
          notify('Test queued: follow it in the channel’s deliveries.');
          ctx.navigate(
            `#/o/${encodeURIComponent(ctx.org.slug)}/notifications/${encodeURIComponent(c.id)}`,
          );
        }),
    },
    'Send test',
  );
}

/** One channel: its deliveries, newest first, each with every attempt. */
export async function channelView(ctx) {
  const { org } = ctx;
  const id = ctx.params[1];
  const api = u`/orgs/${org.slug}/notifications/${id}`;
  const base = `#/o/${encodeURIComponent(org.slug)}/notifications`;
  const channel = await get(api);
  const status = ctx.query.get('status') ?? '';
  let deliveries = [];
  let next = null;
  const listBox = h('div', {});
  const more = h('div', { class: 'actions' });

  const attempts = (d) =>
    d.attempts.length
      ? h(
          'ol',
          { class: 'attempts' },
          d.attempts.map((a) =>
            h(
              'li',
              { 'data-attempt': a.attempt },
              at(a.at),
              ' · ',
              a.status_code === null
                ? muted('no response')
                : h('code', {}, `HTTP ${a.status_code}`),
              ` · ${a.duration_ms} ms`,
              a.error ? h('div', { class: 'attempt-error' }, a.error) : null,
            ),
          ),
        )
      : muted('not tried yet');

  const draw = () => {
    replace(
      listBox,
      table(
        'Deliveries',
        ['Created', 'Event', 'Status', 'Attempts', 'Delivered', 'Payload'],
        deliveries.map((d) => [
          at(d.created_at),
          h('code', {}, d.event_type),
          badge(d.status),
          attempts(d),
          at(d.delivered_at),
          h(
            'details',
            {},
            h('summary', {}, 'Show'),
            h('pre', { class: 'json' }, JSON.stringify(d.payload, null, 2)),
          ),
        ]),
        'Nothing sent to this channel yet.',
        { stack: true },
      ),
    );
    replace(more, next ? loadMoreButton(() => loadPage(next)) : null);
  };
  const loadPage = async (token) => {
    const page = await get(`${api}/deliveries${qs({ page_size: 50, page_token: token, status })}`);
    deliveries = deliveries.concat(page.results);
    next = page.pagination?.next_page_token ?? null;
    draw();
  };
  await loadPage();

  const filter = h(
    'select',
    {
      id: 'delivery-status',
      value: status,
      onchange: (e) =>
        ctx.navigate(`${base}/${encodeURIComponent(id)}${qs({ status: e.target.value })}`),
    },
    h('option', { value: '' }, 'Any status'),
    ['pending', 'delivered', 'failed'].map((s) => h('option', { value: s }, s)),
  );

  ctx.show(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: base }, 'Notifications'),
      ' / ',
      h('span', { 'aria-current': 'page' }, channel.target),
    ),
    h('h1', {}, `Deliveries to ${channel.target}`),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', {}, 'Kind'), h('dd', {}, channel.kind, channel.slack ? ' (Slack)' : '')),
      h('div', {}, h('dt', {}, 'Active'), h('dd', {}, channel.active ? 'yes' : 'no')),
      h(
        'div',
        {},
        h('dt', {}, 'Filters (any of)'),
        h(
          'dd',
          {},
          h(
            'ul',
            { class: 'plain' },
            channel.filters.map((f) => h('li', {}, filterText(f))),
          ),
        ),
      ),
    ),
    ctx.can('notification:write')
      ? h('div', { class: 'actions' }, testButton(ctx, u`/orgs/${org.slug}/notifications`, channel))
      : null,
    section(
      'Deliveries',
      h('div', { class: 'filter-row' }, h('label', { for: 'delivery-status' }, 'Status'), filter),
      listBox,
      more,
    ),
  );
  // A test send (or a retry with backoff) moves on in the worker: keep the list fresh while any is pending.
  ctx.every(3000, async () => {
    if (!deliveries.some((d) => d.status === 'pending')) return;
    const page = await get(`${api}/deliveries${qs({ page_size: 50, status })}`);
    deliveries = page.results;
    next = page.pagination?.next_page_token ?? null;
    draw();
  });
}
