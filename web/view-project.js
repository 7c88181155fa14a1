// A project: its deployments (list, create) and its secrets.
import { del, get, post, put, u } from './api.js';
import {
  act,
  badge,
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

export async function projectView(ctx) {
  const { org } = ctx;
  const [projectRef] = ctx.params.slice(1);
  const api = u`/orgs/${org.slug}/projects/${projectRef}`;
  const [project, deployments] = await Promise.all([
    get(api),
    get(`${api}/deployments?page_size=250`),
  ]);
  const base = `#/o/${encodeURIComponent(org.slug)}/p/${encodeURIComponent(project.slug)}`;

  ctx.show(
    breadcrumbs(org, project),
    h('h1', {}, project.name),
    h(
      'dl',
      { class: 'facts' },
      fact('Repository', h('code', {}, project.repository)),
      fact('Root path', h('code', {}, project.root_path)),
      fact('Created', when(project.created_at)),
    ),
    project.repository_access === 'lost'
      ? h(
          'p',
          { class: 'warning', role: 'note' },
          'The GitHub App no longer grants this repository: deploys and runs will fail until access is restored.',
        )
      : null,
    section(
      'Deployments',
      table(
        'Deployments',
        ['Deployment', 'Environment', 'Branch', 'Status', 'Deployed commit', 'Deployed'],
        deployments.results.map((d) => [
          h('a', { href: `${base}/d/${encodeURIComponent(d.slug)}` }, d.name),
          environmentLabel(d.environment),
          h('code', {}, d.branch),
          h('span', { title: d.status_message ?? '' }, badge(d.status)),
          sha(d.deployed_commit_sha),
          when(d.deployed_at),
        ]),
        'No deployments yet.',
      ),
    ),
    ctx.can('deployment:write')
      ? section(
          'New deployment',
          h(
            'p',
            { class: 'hint' },
            'A deployment runs one Meltano environment from one branch. Creating it deploys the branch head.',
          ),
          apiForm({
            label: 'Create a deployment',
            fields: [
              { name: 'name', label: 'Name', required: true, placeholder: 'prod' },
              {
                name: 'environment',
                label: 'Meltano environment',
                placeholder: 'prod',
                hint: 'An environment of meltano.yml; leave empty for a project without environments.',
              },
              { name: 'branch', label: 'Branch', required: true, value: 'main' },
            ],
            submit: 'Create deployment',
            onSubmit: async (values) => {
              // No environment (a project that defines none): Meltano's default_environment applies.
              const d = await post(`${api}/deployments`, {
                ...values,
                environment: values.environment ? values.environment : null,
              });
              ctx.navigate(`${base}/d/${encodeURIComponent(d.slug)}`);
            },
          }),
        )
      : null,
    await secretsSection(ctx, `${api}/secrets`, {
      title: 'Project secrets',
      intro:
        'Environment variables (or files) given to every run of every deployment. Values are write-only.',
    }),
  );
}

export const breadcrumbs = (org, project, deployment) => {
  const o = `#/o/${encodeURIComponent(org.slug)}`;
  const p = project ? `${o}/p/${encodeURIComponent(project.slug)}` : null;
  return h(
    'nav',
    { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
    h('a', { href: o }, org.name),
    project
      ? [
          ' / ',
          deployment
            ? h('a', { href: p }, project.name)
            : h('span', { 'aria-current': 'page' }, project.name),
        ]
      : null,
    deployment ? [' / ', h('span', { 'aria-current': 'page' }, deployment.name)] : null,
  );
};

export const fact = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));

/** Secrets of a project or a deployment: names, kind, who set them and when; set and delete. */
export async function secretsSection(ctx, api, { title, intro }) {
  const canWrite = ctx.can('secret:write');
  const list = h('div', {});
  const load = async () => {
    const secrets = await get(`${api}?page_size=250`);
    replace(
      list,
      table(
        title,
        ['Name', 'Kind', 'Last set', 'Created', canWrite ? 'Actions' : null].filter(Boolean),
        secrets.results.map((s) => {
          const cells = [
            h('code', {}, s.name),
            s.kind,
            h('span', {}, s.updated_by ?? muted('unknown'), ', ', when(s.updated_at)),
            h('span', {}, s.created_by ?? muted('unknown'), ', ', when(s.created_at)),
          ];
          if (canWrite) {
            const button = h(
              'button',
              { type: 'button', class: 'danger small', 'aria-label': `Delete secret ${s.name}` },
              'Delete',
            );
            button.addEventListener('click', () => {
              if (!confirm(`Delete secret ${s.name}? Runs will no longer receive it.`)) return;
              void act(button, async () => {
                await del(`${api}/${encodeURIComponent(s.name)}`);
                notify(`Deleted secret ${s.name}.`);
                await load();
              });
            });
            cells.push(button);
          }
          return cells;
        }),
        'No secrets.',
      ),
    );
  };
  await load();
  let form = null;
  if (canWrite) {
    form = apiForm({
      label: `Set a secret (${title})`,
      inline: true,
      fields: [
        {
          name: 'name',
          label: 'Name',
          required: true,
          placeholder: 'TAP_POSTGRES_PASSWORD',
          autocomplete: 'off',
        },
        {
          name: 'kind',
          label: 'Kind',
          type: 'select',
          required: true,
          value: 'env',
          options: [
            { value: 'env', label: 'Environment variable' },
            { value: 'file', label: 'File' },
          ],
        },
        {
          name: 'value',
          label: 'Value',
          type: 'password',
          required: true,
          autocomplete: 'new-password',
        },
      ],
      submit: 'Set secret',
      onSubmit: async ({ name, ...body }, formEl) => {
        await put(`${api}/${encodeURIComponent(name ?? '')}`, body);
        formEl.reset();
        formEl.controls.get('kind').input.dispatchEvent(new Event('change')); // back to a password input
        notify(`Saved secret ${name}. Its value is stored encrypted and never shown again.`);
        await load();
      },
    });
    // A file's content may span lines (a PEM key): then the value is a textarea.
    const kind = form.controls.get('kind').input;
    const value = form.controls.get('value');
    kind.addEventListener('change', () => {
      const old = value.input;
      const next =
        kind.value === 'file'
          ? h('textarea', { rows: 5, spellcheck: 'false', class: 'secret-text' })
          : h('input', { type: 'password', autocomplete: 'new-password' });
      for (const attr of ['id', 'name', 'required', 'aria-describedby']) {
        if (old.hasAttribute(attr)) next.setAttribute(attr, old.getAttribute(attr));
      }
      next.value = old.value;
      old.replaceWith(next);
      value.input = next;
    });
  }
  return section(title, h('p', { class: 'hint' }, intro), list, form);
}
