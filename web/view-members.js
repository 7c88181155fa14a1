// Members (list, invite, change role, pending invitations) and the audit log.
import { del, get, patch, post, qs, u } from './api.js';
import { act, at, h, loadMoreButton, muted, notify, replace, section, table, when } from './dom.js';
import { apiForm } from './forms.js';

const ROLES = ['viewer', 'member', 'admin', 'owner'];

export async function membersView(ctx) {
  const { org } = ctx;
  const api = u`/orgs/${org.slug}/members`;
  const canWrite = ctx.can('member:write');
  const membersBox = h('div', {});
  const invitesBox = h('div', {});

  const load = async () => {
    const data = await get(api);
    replace(
      membersBox,
      table(
        'Members',
        ['Login', 'Name', 'Role', 'Joined'],
        data.results.map((m) => {
          let role = m.role;
          if (canWrite) {
            const select = h(
              'select',
              { 'aria-label': `Role of ${m.login}`, value: m.role },
              ROLES.map((r) => h('option', { value: r }, r)),
            );
            select.addEventListener('change', () => {
              const wanted = select.value;
              void act(select, async () => {
                try {
                  await patch(u`/orgs/${org.slug}/members/${m.user_id}`, { role: wanted });
                  notify(`${m.login} is now ${wanted}.`);
                } catch (err) {
                  select.value = m.role;
                  throw err;
                }
                m.role = wanted;
              });
            });
            role = select;
          }
          return [h('strong', {}, m.login), m.name ?? muted('—'), role, when(m.joined_at)];
        }),
      ),
    );
    replace(
      invitesBox,
      data.invitations.length
        ? [
            h('h3', {}, 'Pending invitations'),
            h('p', { class: 'hint' }, 'They become members when they first sign in with GitHub.'),
            table(
              'Pending invitations',
              ['GitHub login', 'Role', 'Invited', canWrite ? '' : null].filter((x) => x !== null),
              data.invitations.map((i) => {
                const cells = [h('strong', {}, i.login), i.role, when(i.created_at)];
                if (canWrite) {
                  cells.push(
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary small',
                        'aria-label': `Withdraw the invitation of ${i.login}`,
                        onclick: (e) =>
                          void act(e.currentTarget, async () => {
                            await del(u`/orgs/${org.slug}/invitations/${i.id}`);
                            notify(`Invitation of ${i.login} withdrawn.`);
                            await load();
                          }),
                      },
                      'Withdraw',
                    ),
                  );
                }
                return cells;
              }),
            ),
          ]
        : null,
    );
  };
  await load();

  ctx.show(
    h('h1', {}, 'Members'),
    section('Members of ' + org.name, membersBox, invitesBox),
    canWrite
      ? section(
          'Invite someone',
          apiForm({
            label: 'Invite a member',
            inline: true,
            fields: [
              { name: 'login', label: 'GitHub login', required: true, placeholder: 'hubot' },
              {
                name: 'role',
                label: 'Role',
                type: 'select',
                required: true,
                value: 'member',
                options: ROLES,
              },
            ],
            submit: 'Invite',
            onSubmit: async (values, form) => {
              const result = await post(api, values);
              notify(
                result.member
                  ? `${values.login} added as ${values.role}.`
                  : `${values.login} invited as ${values.role}.`,
              );
              form.reset();
              await load();
            },
          }),
        )
      : null,
  );
}

export async function auditView(ctx) {
  const { org } = ctx;
  if (!ctx.can('audit:read')) {
    ctx.show(
      h('h1', {}, 'Audit log'),
      h('p', {}, 'Only admins and owners can read the audit log.'),
    );
    return;
  }
  const api = u`/orgs/${org.slug}/audit-events`;
  let events = [];
  let next = null;
  const listBox = h('div', {});
  const more = h('div', { class: 'actions' });
  const draw = () => {
    replace(
      listBox,
      table(
        'Audit events',
        ['When', 'Who', 'Action', 'Resource', 'From', 'Details'],
        events.map((e) => [
          at(e.created_at),
          e.actor
            ? h(
                'span',
                { class: 'actor', title: e.actor },
                e.actor_name && e.actor_name !== e.actor ? `${e.actor_name} (${e.actor})` : e.actor,
                /^meltano-cloud-cli\//.test(e.user_agent ?? '') ? muted(' via the CLI') : null,
              )
            : muted('system'),
          h('code', {}, e.action),
          h(
            'span',
            { class: 'resource' },
            h('span', { class: 'muted small' }, e.resource_type.replace(/_/g, ' '), ' '),
            !e.resource_name
              ? muted('(no name)')
              : e.resource_type === 'run' && e.resource_id
                ? h(
                    'a',
                    {
                      href: `#/o/${encodeURIComponent(org.slug)}/runs/${encodeURIComponent(e.resource_id)}`,
                    },
                    e.resource_name,
                  )
                : h('strong', { title: e.resource_id ?? '' }, e.resource_name),
          ),
          e.ip ?? muted('—'),
          e.details && Object.keys(e.details).length
            ? h(
                'details',
                {},
                h('summary', {}, 'Show'),
                h('pre', { class: 'json' }, JSON.stringify(e.details, null, 2)),
              )
            : muted('—'),
        ]),
        'No events yet.',
      ),
    );
    replace(more, next ? loadMoreButton(() => loadPage(next)) : null);
  };
  const loadPage = async (token) => {
    const page = await get(api + qs({ page_size: 50, page_token: token }));
    events = events.concat(page.results);
    next = page.pagination?.next_page_token ?? null;
    draw();
  };
  await loadPage();
  ctx.show(h('h1', {}, 'Audit log'), section('Events, newest first', listBox, more));
}
