// A deployment's Meltano state (what `meltano state list/get/clear` show):
// every state id, its value on demand, and clearing it (admins).
import { del, get, u } from './api.js';
import { act, at, h, muted, notify, replace, section, table } from './dom.js';
import { breadcrumbs } from './view-project.js';

export async function stateView(ctx) {
  const { org } = ctx;
  const [projectRef, deploymentRef] = ctx.params.slice(1);
  const projectApi = u`/orgs/${org.slug}/projects/${projectRef}`;
  const api = projectApi + u`/deployments/${deploymentRef}/state`;
  const [project, deployment] = await Promise.all([
    get(projectApi),
    get(projectApi + u`/deployments/${deploymentRef}`),
  ]);
  const canClear = ctx.can('deployment:write');
  const listBox = h('div', {});

  /** The value, fetched when the row is opened (states can be large). */
  const valueOf = (stateId) => {
    const pre = h('pre', { class: 'json state-value' }, 'Loading…');
    const details = h('details', { 'data-state': stateId }, h('summary', {}, 'View'), pre);
    details.addEventListener('toggle', () => {
      if (!details.open || pre.dataset.loaded) return;
      get(`${api}/${encodeURIComponent(stateId)}`)
        .then((s) => {
          pre.dataset.loaded = 'yes';
          pre.textContent = JSON.stringify(s.value, null, 2);
        })
        .catch((err) => (pre.textContent = err.message));
    });
    return details;
  };

  const load = async () => {
    const states = (await get(api)).results;
    replace(
      listBox,
      table(
        'Meltano state',
        ['State id', 'Updated', 'Value', canClear ? '' : null].filter((x) => x !== null),
        states.map((s) => {
          const cells = [h('code', {}, s.state_id), at(s.updated_at), valueOf(s.state_id)];
          if (canClear)
            cells.push(
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger small',
                  'aria-label': `Clear state ${s.state_id}`,
                  onclick: (e) => {
                    if (
                      !confirm(
                        `Clear state ${s.state_id}? The next run starts from scratch (a full sync).`,
                      )
                    )
                      return;
                    void act(e.currentTarget, async () => {
                      await del(`${api}/${encodeURIComponent(s.state_id)}`);
                      notify(`Cleared state ${s.state_id}.`);
                      await load();
                    });
                  },
                },
                'Clear',
              ),
            );
          return cells;
        }),
        'No state yet: incremental runs save theirs here when they finish.',
        { stack: true },
      ),
    );
  };
  await load();

  ctx.show(
    breadcrumbs(org, project, deployment),
    h('h1', {}, `Meltano state: ${deployment.name}`),
    h(
      'p',
      { class: 'subtitle' },
      'Bookmarks of incremental extractors, one per state id (',
      h('code', {}, 'meltano state list'),
      '). ',
      canClear
        ? 'Clearing one makes its next run a full sync.'
        : muted('Only admins can clear state.'),
    ),
    section('States', listBox),
  );
}
