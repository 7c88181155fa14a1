/** org, project and deployment commands. */
import { Command, Option } from 'commander';
import { ApiError, type ResponseOf } from '../api-client.js';
import { CliError, Interrupted, type Context } from '../context.js';
import { formatTime, statusColour } from '../output.js';
import {
  example,
  formatOption,
  limitOption,
  plural,
  printList,
  shortSha,
  type FormatOpts,
  type LimitOpts,
} from './common.js';

type Deploy = ResponseOf<'getDeploy'>;
type Deployment = ResponseOf<'getDeployment'>;

const current = (isCurrent: boolean) => (isCurrent ? '*' : '');

export function orgCommand(ctx: Context): Command {
  const org = example(
    new Command('org').alias('organization').description('Organizations you belong to'),
    'meltano-cloud org list',
  );

  example(
    org
      .command('list')
      .description('List your organizations (* marks the current one)')
      .addOption(limitOption('organizations'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts) => {
        const orgs = (await ctx.api.request('listOrgs', {})).results;
        const now = ctx.config.value('organization');
        printList(
          ctx.io,
          opts.format,
          orgs,
          [
            { header: ' ', value: (o) => current(o.slug === now || o.id === now) },
            { header: 'SLUG', value: (o) => o.slug },
            { header: 'NAME', value: (o) => o.name, shrink: true },
            { header: 'ROLE', value: (o) => o.role },
            { header: 'BILLING ACCOUNT', value: (o) => o.billing_account_number },
          ],
          'You do not belong to any organization yet.',
          opts.limit,
        );
      }),
    'meltano-cloud org list --format json',
  );

  example(
    org
      .command('create')
      .description('Create an organization (you become its owner) and make it the current one')
      .requiredOption('--name <name>', 'display name')
      .option('--slug <slug>', 'URL name (default: the name, slugged)')
      .action(async (opts: { name: string; slug?: string }) => {
        const created = await ctx.api.request('createOrg', {
          body: { name: opts.name, ...(opts.slug ? { slug: opts.slug } : {}) },
        });
        ctx.config.save({ organization: created.slug, project: undefined, deployment: undefined });
        ctx.io.err(
          `Created organization ${created.name} (${created.slug}), billing account ${created.billing_account_number}\n`,
        );
      }),
    'meltano-cloud org create --name "Acme Data"',
  );

  example(
    org
      .command('use')
      .description('Make an organization the current one (by slug, id or name)')
      .argument('[org]', 'slug, id or name')
      .option('--name <name>', 'the organization’s name or slug')
      .option('--id <id>', 'the organization’s id')
      .action(async (ref: string | undefined, opts: { name?: string; id?: string }) => {
        const wanted = ref ?? opts.name ?? opts.id;
        if (!wanted) throw new CliError('Say which organization: meltano-cloud org use <org>', 2);
        const orgs = (await ctx.api.request('listOrgs', {})).results;
        const found = await ctx.findByName('organization', wanted, () => Promise.resolve(orgs));
        const changed = ctx.config.storedValue('organization') !== found.slug;
        ctx.config.save({
          organization: found.slug,
          ...(changed ? { project: undefined, deployment: undefined } : {}),
        });
        ctx.io.err(`Current organization: ${found.slug} (${found.name})\n`);
      }),
    'meltano-cloud org use acme-data',
  );
  return org;
}

export function projectCommand(ctx: Context): Command {
  const project = example(
    new Command('project').description('Projects: a repository and the folder holding meltano.yml'),
    'meltano-cloud project list',
  );

  const listAll = async (org: string, limit?: number) =>
    ctx.api.all('listProjects', { path: { org } }, limit);

  example(
    project
      .command('list')
      .description('List the organization’s projects (* marks the current one)')
      .addOption(limitOption('projects'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts) => {
        const org = await ctx.org();
        const rows = await listAll(org, opts.limit + 1);
        const now = ctx.config.value('project');
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            { header: ' ', value: (p) => current(p.slug === now || p.id === now) },
            { header: 'SLUG', value: (p) => p.slug, shrink: true },
            { header: 'NAME', value: (p) => p.name, shrink: true },
            { header: 'REPOSITORY', value: (p) => p.repository, shrink: true },
            { header: 'ROOT PATH', value: (p) => p.root_path, shrink: true },
          ],
          'No projects yet: create one with `meltano-cloud project create`.',
          opts.limit,
        );
      }),
    'meltano-cloud project list --format markdown',
  );

  example(
    project
      .command('use')
      .description('Make a project the current one')
      .addOption(new Option('--name <name>', 'the project’s name (or slug)').conflicts('id'))
      .addOption(new Option('--id <id>', 'the project’s id'))
      .action(async (opts: { name?: string; id?: string }) => {
        const org = await ctx.org();
        let found: { slug: string; name: string };
        if (opts.id) {
          found = await ctx.api.request('getProject', { path: { org, project: opts.id } });
        } else if (opts.name) {
          const name = opts.name;
          found = await ctx.findByName('project', name, () => listAll(org));
        } else {
          const all = await listAll(org);
          if (!ctx.io.interactive)
            throw new CliError(
              'Say which project: --name <name> or --id <id> (not a terminal, so no choice is offered).',
              2,
              all.length
                ? `Projects: ${all.map((p) => p.slug).join(', ')}`
                : 'There are no projects yet: meltano-cloud project create',
            );
          found = await choose(
            ctx,
            'project',
            all,
            (p) => `${p.slug} (${p.name}, ${p.repository})`,
            ctx.config.value('project'),
          );
        }
        const changed = ctx.config.storedValue('project') !== found.slug;
        ctx.config.save({ project: found.slug, ...(changed ? { deployment: undefined } : {}) });
        ctx.io.err(`Current project: ${found.slug} (${found.name})\n`);
      }),
    'meltano-cloud project use --name Analytics',
    'meltano-cloud project use    # on a terminal: choose from a list',
  );

  example(
    project
      .command('create')
      .description('Register a project and make it the current one')
      .requiredOption('--name <name>', 'display name')
      .requiredOption(
        '--repo-url <url>',
        'owner/name of a GitHub repository granted to the organization, or a git URL',
      )
      .option('--root-path <path>', 'folder holding meltano.yml', '.')
      .action(async (opts: { name: string; repoUrl: string; rootPath: string }) => {
        const org = await ctx.org();
        const created = await ctx.api.request('createProject', {
          path: { org },
          body: { name: opts.name, repository: opts.repoUrl, root_path: opts.rootPath },
        });
        ctx.config.save({ project: created.slug, deployment: undefined });
        ctx.io.err(
          `Created project ${created.name} (${created.slug}) from ${created.repository}` +
            `${created.root_path === '.' ? '' : ` (folder ${created.root_path})`}; it is now the current project.\n` +
            'Next: meltano-cloud deployment create --name prod --environment prod --git-rev main\n',
        );
        ctx.io.out(`${created.slug}\n`);
      }),
    'meltano-cloud project create --name Analytics --repo-url acme/analytics --root-path data',
  );
  return project;
}

const FINAL_DEPLOY = new Set(['succeeded', 'failed', 'superseded']);

/** Waits for a deploy to finish, following newer deploys that supersede it; fails when it failed. */
async function waitForDeploy(
  ctx: Context,
  path: { org: string; project: string; deployment: string },
  first: Deploy,
  firstDeploy = false,
): Promise<Deploy> {
  let deploy = first;
  const started = Date.now();
  await ctx.interruptible(async (signal) => {
    for (;;) {
      const elapsed = Math.round((Date.now() - started) / 1000);
      ctx.io.progress(
        `Deploying ${path.deployment} from ${deploy.branch}${deploy.commit_sha ? `@${shortSha(deploy.commit_sha)}` : ''}: ${deploy.status} (${elapsed}s)`,
      );
      if (deploy.status === 'superseded') {
        const newest = (
          await ctx.api.request('listDeploys', { path, query: { page_size: 1 }, signal })
        ).results[0];
        if (!newest || newest.id === deploy.id) break;
        deploy = newest;
        continue;
      }
      if (FINAL_DEPLOY.has(deploy.status)) break;
      await ctx.sleep(700);
      deploy = await ctx.api.request('getDeploy', {
        path: { ...path, deployId: deploy.id },
        signal,
      });
    }
  }, `Stopped waiting; the deploy continues. Check it with \`meltano-cloud deployment list\`.`);
  ctx.io.endProgress();
  if (deploy.status === 'failed')
    throw new CliError(
      `Deploy of ${path.deployment} failed: ${deploy.message ?? 'no reason given'}`,
      1,
      firstDeploy
        ? `Fix it in the repository (push to ${deploy.branch}), or change the deployment with\n` +
            `\`meltano-cloud deployment update --name ${path.deployment} --environment <env> --git-rev <branch>\`;\n` +
            `then retry with \`meltano-cloud deployment update --name ${path.deployment}\`.`
        : `The deployment keeps its last good commit. Fix it and retry with \`meltano-cloud deployment update --name ${path.deployment}\`.`,
    );
  if (deploy.status === 'succeeded' && deploy.message?.startsWith('Already up to date')) {
    ctx.io.err(
      `Deployment ${path.deployment} is already up to date at commit ${shortSha(deploy.commit_sha)} of ${deploy.branch}: no changes were detected.\n` +
        'Use --force to redeploy anyway.\n',
    );
    return deploy;
  }
  const schedules = await ctx.api.all('listSchedules', { path });
  ctx.io.err(
    `Deployed ${path.deployment} at commit ${shortSha(deploy.commit_sha)}: ${plural(schedules.length, 'schedule')}` +
      `${schedules.length ? ` (${schedules.map((s) => `${s.name}${s.enabled ? '' : ' [disabled]'}`).join(', ')})` : ''}.\n`,
  );
  return deploy;
}

export function deploymentCommand(ctx: Context): Command {
  const deployment = example(
    new Command('deployment').description(
      'Deployments: a Meltano environment of the project, deployed from a git branch',
    ),
    'meltano-cloud deployment list',
  );

  const listAll = async (org: string, project: string, limit?: number) =>
    ctx.api.all('listDeployments', { path: { org, project } }, limit);
  /** A deployment by slug, id or display name. */
  const find = async (
    name: string | undefined,
  ): Promise<{ path: { org: string; project: string; deployment: string }; d: Deployment }> => {
    const org = await ctx.org();
    const project = ctx.project();
    const ref = ctx.deployment(name);
    try {
      const d = await ctx.api.request('getDeployment', { path: { org, project, deployment: ref } });
      return { path: { org, project, deployment: d.slug }, d };
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404 && err.detail?.startsWith('Deployment')))
        throw err;
      const d = await ctx.findByName('deployment', ref, () => listAll(org, project));
      return { path: { org, project, deployment: d.slug }, d };
    }
  };

  example(
    deployment
      .command('list')
      .description('List the current project’s deployments (* marks the current one)')
      .addOption(limitOption('deployments'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts) => {
        const org = await ctx.org();
        const rows = await listAll(org, ctx.project(), opts.limit + 1);
        const now = ctx.config.value('deployment');
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            { header: ' ', value: (d) => current(d.slug === now || d.id === now) },
            { header: 'NAME', value: (d) => d.slug, shrink: true },
            { header: 'ENVIRONMENT', value: (d) => d.environment ?? NO_ENVIRONMENT, shrink: true },
            { header: 'GIT REV', value: (d) => d.branch, shrink: true },
            { header: 'STATUS', value: (d) => d.status, colour: (d) => statusColour(d.status) },
            { header: 'COMMIT', value: (d) => shortSha(d.deployed_commit_sha) },
            { header: 'DEPLOYED', value: (d) => formatTime(d.deployed_at, ctx.time) },
          ],
          'No deployments yet: create one with `meltano-cloud deployment create`.',
          opts.limit,
        );
      }),
    'meltano-cloud deployment list --format json',
  );

  example(
    deployment
      .command('use')
      .description('Make a deployment the current one')
      .option('--name <name>', 'the deployment’s name (on a terminal, omit it to choose)')
      .action(async (opts: { name?: string }) => {
        let name = opts.name;
        if (!name) {
          const org = await ctx.org();
          const all = await listAll(org, ctx.project());
          if (!ctx.io.interactive)
            throw new CliError(
              'Say which deployment: --name <name> (not a terminal, so no choice is offered).',
              2,
              all.length
                ? `Deployments: ${all.map((d) => d.slug).join(', ')}`
                : 'There are no deployments yet: meltano-cloud deployment create',
            );
          name = (
            await choose(
              ctx,
              'deployment',
              all,
              (d) => `${d.slug} (environment ${d.environment}, ${d.branch})`,
              ctx.config.value('deployment'),
            )
          ).slug;
        }
        const { d } = await find(name);
        ctx.config.save({ deployment: d.slug });
        ctx.io.err(`Current deployment: ${d.slug} (${environmentOf(d)}, ${d.branch})\n`);
      }),
    'meltano-cloud deployment use --name prod',
    'meltano-cloud deployment use    # on a terminal: choose from a list',
  );

  example(
    deployment
      .command('create')
      .description(
        'Create a deployment, deploy it and wait for the result (the project’s first deployment becomes the current one)',
      )
      .requiredOption('--name <name>', 'deployment name')
      .option(
        '--environment <environment>',
        'Meltano environment from meltano.yml (leave out for a project that defines none)',
      )
      .requiredOption('--git-rev <branch>', 'git branch to deploy')
      .option('--no-wait', 'do not wait for the first deploy to finish')
      .action(
        async (opts: { name: string; environment?: string; gitRev: string; wait: boolean }) => {
          const org = await ctx.org();
          const project = ctx.project();
          const existing = await listAll(org, project, 1);
          const d = await ctx.api.request('createDeployment', {
            path: { org, project },
            body: {
              name: opts.name,
              ...(opts.environment !== undefined ? { environment: opts.environment } : {}),
              branch: opts.gitRev,
            },
          });
          // Only a project's first deployment becomes the current one (as the first is then the only one).
          const first = existing.length === 0;
          if (first) ctx.config.save({ deployment: d.slug });
          ctx.io.err(
            `Created deployment ${d.slug} (${environmentOf(d)}, ${d.branch})` +
              (first
                ? '; it is now the current deployment.\n'
                : `; the current deployment is still ${ctx.config.value('deployment') ?? 'unset'} (switch with \`meltano-cloud deployment use --name ${d.slug}\`).\n`),
          );
          const path = { org, project, deployment: d.slug };
          if (!opts.wait) return;
          const deploy = (await ctx.api.request('listDeploys', { path, query: { page_size: 1 } }))
            .results[0];
          if (deploy) await waitForDeploy(ctx, path, deploy, true);
        },
      ),
    'meltano-cloud deployment create --name prod --environment prod --git-rev main',
  );

  example(
    deployment
      .command('update')
      .description(
        'Redeploy the latest commit of the tracked branch (as Meltano Cloud), or change the branch or environment',
      )
      .option('--name <name>', 'deployment name (default: the current deployment)')
      .option('--git-rev <branch>', 'track this git branch instead (redeploys)')
      .option('--environment <environment>', 'use this Meltano environment instead (redeploys)')
      .option('--force', 'redeploy even when the branch head is the deployed commit')
      .addOption(
        new Option(
          '--preserve-git-hash',
          'redeploy the commit deployed now (meltano.yml read again), not the branch head',
        ).conflicts(['gitRev']),
      )
      .option('--no-wait', 'do not wait for the redeploy')
      .addHelpText(
        'after',
        '\nWithout --git-rev or --environment, the deployment is redeployed from the head of its branch;\n' +
          'when that is the commit deployed already nothing happens, unless --force.\n',
      )
      .action(
        async (opts: {
          name?: string;
          gitRev?: string;
          environment?: string;
          force?: boolean;
          preserveGitHash?: boolean;
          wait: boolean;
        }) => {
          const { path, d: existing } = await find(opts.name);
          if (opts.gitRev !== undefined || opts.environment !== undefined) {
            if (opts.preserveGitHash && opts.environment === undefined)
              throw new CliError('--preserve-git-hash cannot be used with --git-rev.', 2);
            const before = (await ctx.api.request('listDeploys', { path, query: { page_size: 1 } }))
              .results[0];
            const d = await ctx.api.request('updateDeployment', {
              path,
              body: {
                ...(opts.gitRev !== undefined ? { branch: opts.gitRev } : {}),
                ...(opts.environment !== undefined ? { environment: opts.environment } : {}),
              },
            });
            ctx.io.err(`Updated deployment ${d.slug}: ${environmentOf(d)}, ${d.branch}.\n`);
            if (!opts.wait) return;
            const newest = (await ctx.api.request('listDeploys', { path, query: { page_size: 1 } }))
              .results[0];
            if (newest && newest.id !== before?.id) await waitForDeploy(ctx, path, newest);
            else ctx.io.err('Nothing changed that needs a redeploy.\n');
            return;
          }
          const deploy = await ctx.api.request('createDeploy', {
            path,
            body: {
              commit: opts.preserveGitHash ? 'deployed' : 'branch_head',
              only_if_changed: !opts.force && !opts.preserveGitHash,
            },
          });
          ctx.io.err(
            opts.preserveGitHash
              ? `Redeploying ${path.deployment} at its deployed commit ${shortSha(existing.deployed_commit_sha)}.\n`
              : `Redeploying ${path.deployment} from the head of ${deploy.branch}${opts.force ? ' (forced)' : ''}.\n`,
          );
          if (opts.wait) await waitForDeploy(ctx, path, deploy, !existing.deployed_commit_sha);
        },
      ),
    'meltano-cloud deployment update --name prod',
    'meltano-cloud deployment update --name prod --force',
    'meltano-cloud deployment update --name prod --preserve-git-hash',
    'meltano-cloud deployment update --name prod --git-rev release',
  );

  example(
    deployment
      .command('deploy')
      .description('Redeploy: read meltano.yml at the branch head again and wait for the result')
      .option('--name <name>', 'deployment name (default: the current deployment)')
      .option('--no-wait', 'do not wait for the deploy to finish')
      .action(async (opts: { name?: string; wait: boolean }) => {
        const { path } = await find(opts.name);
        const deploy = await ctx.api.request('createDeploy', { path, body: {} });
        ctx.io.err(`Deploy ${deploy.id} queued for ${path.deployment} (${deploy.branch}).\n`);
        if (opts.wait) await waitForDeploy(ctx, path, deploy);
      }),
    'meltano-cloud deployment deploy --name prod',
  );

  example(
    deployment
      .command('delete')
      .description('Delete a deployment: its schedules stop and its queued runs are cancelled')
      .requiredOption('--name <name>', 'deployment name')
      .option('--yes', 'do not ask for confirmation')
      .action(async (opts: { name: string; yes?: boolean }) => {
        const { path, d } = await find(opts.name);
        if (!opts.yes) {
          if (!ctx.io.interactive)
            throw new CliError(`Refusing to delete ${d.slug} without --yes (not a terminal).`, 2);
          const answer = await ask(`Delete deployment ${d.slug}? Type its name to confirm: `);
          if (answer.trim() !== d.slug) throw new CliError('Not deleted.');
        }
        await ctx.api.request('deleteDeployment', { path });
        if (ctx.config.storedValue('deployment') === d.slug)
          ctx.config.save({ deployment: undefined });
        ctx.io.err(`Deleted deployment ${d.slug}.\n`);
      }),
    'meltano-cloud deployment delete --name staging --yes',
  );
  return deployment;
}

/** On a terminal: a numbered list to choose from (Enter keeps the current one). */
async function choose<T extends { slug: string }>(
  ctx: Context,
  kind: string,
  items: T[],
  label: (item: T) => string,
  now: string | undefined,
): Promise<T> {
  if (items.length === 0) throw new CliError(`There are no ${kind}s to choose from yet.`);
  const current = items.findIndex((i) => i.slug === now);
  ctx.io.err(
    `Choose a ${kind}:\n${items.map((item, n) => `  ${n + 1}) ${label(item)}${n === current ? ' *' : ''}`).join('\n')}\n`,
  );
  for (;;) {
    const answer = (
      await ask(
        `${kind[0]?.toUpperCase()}${kind.slice(1)} [1-${items.length}${current >= 0 ? `, Enter for ${current + 1}` : ''}]: `,
      )
    ).trim();
    const n = answer === '' && current >= 0 ? current + 1 : Number(answer);
    const byNumber = Number.isInteger(n) ? items[n - 1] : undefined;
    const picked = byNumber ?? items.find((i) => i.slug === answer);
    if (picked) return picked;
    ctx.io.err(`Type a number from 1 to ${items.length} (or a ${kind} name).\n`);
  }
}

async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const onSigint = () => rl.close();
  rl.on('SIGINT', onSigint);
  const closed = new Promise<never>((_, reject) =>
    rl.once('close', () => reject(new Interrupted())),
  );
  closed.catch(() => undefined);
  try {
    return await Promise.race([rl.question(question), closed]);
  } catch {
    throw new Interrupted();
  } finally {
    rl.close();
  }
}

/** How a deployment without an environment is shown (Meltano then uses default_environment). */
const NO_ENVIRONMENT = '(no environment)';
const environmentOf = (d: { environment: string | null }): string =>
  d.environment === null ? NO_ENVIRONMENT : `environment ${d.environment}`;
