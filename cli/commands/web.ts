/** web: the dashboard page of the current project, deployment or a run. */
import { Command } from 'commander';
import type { Context } from '../context.js';
import { example } from './common.js';

const seg = encodeURIComponent;

/** The dashboard's hash routes (web/app.js). */
export function dashboardUrl(
  baseUrl: string,
  where: {
    org: string;
    project?: string | undefined;
    deployment?: string | undefined;
    runId?: string | undefined;
  },
): string {
  let hash = `#/o/${seg(where.org)}`;
  if (where.runId) hash += `/runs/${seg(where.runId)}`;
  else if (where.project) {
    hash += `/p/${seg(where.project)}`;
    if (where.deployment) hash += `/d/${seg(where.deployment)}`;
  }
  return `${baseUrl}/${hash}`;
}

export function webCommand(ctx: Context): Command {
  return example(
    new Command('web')
      .description(
        'Open the dashboard at the current deployment or project (or a run) and print its URL',
      )
      .option('--execution-id <id>', 'the page of this run')
      .option('--project-only', 'the project page, even with a current deployment')
      .option('--no-browser', 'only print the URL')
      .action(async (opts: { executionId?: string; projectOnly?: boolean; browser: boolean }) => {
        const org = await ctx.org();
        const url = dashboardUrl(ctx.baseUrl, {
          org,
          runId: opts.executionId,
          project: ctx.config.value('project'),
          deployment: opts.projectOnly ? undefined : ctx.config.value('deployment'),
        });
        ctx.io.out(`${url}\n`);
        if (opts.browser) ctx.openBrowser(url);
      }),
    'meltano-cloud web',
    'meltano-cloud web --execution-id 3f2a… --no-browser',
  );
}

/** The documentation the server serves: the API reference (OpenAPI UI) at /api/docs. */
export const docsUrl = (baseUrl: string): string => `${baseUrl}/api/docs`;

export function docsCommand(ctx: Context): Command {
  return example(
    new Command('docs')
      .description(
        'Print (and open) the documentation URL of your server (the API reference); `--help` on any command documents the CLI',
      )
      .option('--no-browser', 'only print the URL')
      .action((opts: { browser: boolean }) => {
        const url = docsUrl(ctx.baseUrl);
        ctx.io.out(`${url}\n`);
        if (opts.browser) ctx.openBrowser(url);
      }),
    'meltano-cloud docs',
    'meltano-cloud docs --no-browser',
  );
}
