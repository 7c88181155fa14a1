// Organizations (switch, create) and an organization's projects (list, create).
import { get, post, u } from './api.js';
import { h, section, table, when, badge } from './dom.js';
import { apiForm } from './forms.js';

/** `#/`: the last organization used, else the first, else the organizations page. */
export async function homeView(ctx) {
  const orgs = ctx.orgs;
  if (!orgs.length) return ctx.navigate('#/orgs');
  const last = localStorage.getItem('mc.org');
  const org = orgs.find((o) => o.slug === last) ?? orgs[0];
  location.replace(`#/o/${encodeURIComponent(org.slug)}`);
}

export async function orgsView(ctx) {
  const orgs = await ctx.refreshOrgs();
  const create = apiForm({
    label: 'Create an organization',
    fields: [
      { name: 'name', label: 'Name', required: true, placeholder: 'Acme Data' },
      {
        name: 'slug',
        label: 'Slug',
        placeholder: 'acme-data',
        hint: 'Used in URLs and the CLI. Defaults to the name, lowercased with dashes.',
      },
    ],
    submit: 'Create organization',
    onSubmit: async (values) => {
      const org = await post('/orgs', values);
      await ctx.refreshOrgs();
      ctx.navigate(`#/o/${encodeURIComponent(org.slug)}`);
    },
  });
  ctx.show(
    h('h1', {}, 'Organizations'),
    section(
      'Your organizations',
      table(
        'Your organizations',
        ['Name', 'Slug', 'Your role', 'Created'],
        orgs.map((o) => [
          h('a', { href: `#/o/${encodeURIComponent(o.slug)}` }, o.name),
          h('code', {}, o.slug),
          o.role,
          when(o.created_at),
        ]),
        'You do not belong to any organization yet. Create one below.',
      ),
    ),
    section('New organization', create),
  );
}

export async function projectsView(ctx) {
  const { org } = ctx;
  const [projects, repos] = await Promise.all([
    get(u`/orgs/${org.slug}/projects` + '?page_size=250'),
    ctx.can('project:write')
      ? get(u`/orgs/${org.slug}/repositories`).catch(() => ({ results: [] }))
      : { results: [] },
  ]);
  const repoField = repos.results.length
    ? {
        name: 'repository',
        label: 'Repository',
        type: 'select',
        required: true,
        options: repos.results.map((r) => ({
          value: r.full_name,
          label: r.full_name + (r.private ? ' (private)' : ''),
        })),
      }
    : {
        name: 'repository',
        label: 'Repository',
        required: true,
        placeholder: 'acme/analytics',
        hint: 'owner/name on GitHub, or a git URL.',
      };
  const base = `#/o/${encodeURIComponent(org.slug)}`;
  ctx.show(
    h('h1', {}, org.name),
    h(
      'p',
      { class: 'subtitle' },
      `Organization `,
      h('code', {}, org.slug),
      ` · you are ${article(org.role)} ${org.role}`,
    ),
    section(
      'Projects',
      table(
        'Projects',
        ['Project', 'Repository', 'Root path', 'Repository access', 'Created'],
        projects.results.map((p) => [
          h('a', { href: `${base}/p/${encodeURIComponent(p.slug)}` }, p.name),
          h('code', {}, p.repository),
          h('code', {}, p.root_path),
          p.repository_access === 'granted' ? badge('granted') : badge('lost'),
          when(p.created_at),
        ]),
        ctx.can('project:write')
          ? 'No projects yet. Register one below: a repository and the folder holding meltano.yml.'
          : 'No projects yet. An admin can register one.',
      ),
    ),
    ctx.can('project:write')
      ? section(
          'New project',
          apiForm({
            label: 'Create a project',
            fields: [
              { name: 'name', label: 'Name', required: true, placeholder: 'Analytics' },
              repoField,
              {
                name: 'root_path',
                label: 'Root path',
                placeholder: '.',
                hint: 'Folder holding meltano.yml, relative to the repository root.',
              },
            ],
            submit: 'Create project',
            onSubmit: async (values) => {
              const p = await post(u`/orgs/${org.slug}/projects`, values);
              ctx.navigate(`${base}/p/${encodeURIComponent(p.slug)}`);
            },
          }),
        )
      : null,
  );
}

const article = (word) => (/^[aeiou]/.test(word) ? 'an' : 'a');
