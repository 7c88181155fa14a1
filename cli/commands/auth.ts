/** login, logout, whoami. */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { ApiClient, ApiError } from '../api-client.js';
import { ENV_VARS } from '../config.js';
import { CliError, readStdin, type Context } from '../context.js';
import { example, formatOption, type FormatOpts } from './common.js';

const LOGIN_TIMEOUT_MS = 10 * 60 * 1000;

const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title>` +
  `<body style="font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 32rem">` +
  `<h1>${title}</h1><p>${text}</p></body>`;

const sameString = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Browser sign-in: listens on 127.0.0.1 (random port), sends the user to the
 * API's /auth/cli page, and takes the token from the redirect back, checking
 * it carries the `state` this login made up.
 */
async function browserLogin(ctx: Context, baseUrl: string, open: boolean): Promise<string> {
  const state = randomBytes(24).toString('base64url');
  let settle: { resolve(token: string): void; reject(err: Error): void } | undefined;
  const result = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const token = url.searchParams.get('token') ?? '';
    const returned = url.searchParams.get('state') ?? '';
    if (!sameString(returned, state)) {
      res
        .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          page(
            'Sign-in refused',
            'This answer does not belong to the running login. Nothing was saved.',
          ),
        );
      settle?.reject(
        new CliError(
          'The browser sent back a different state than this login expected; nothing was saved.',
          1,
          'Run `meltano-cloud login` again and use the URL it prints.',
        ),
      );
      return;
    }
    if (!token) {
      res
        .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
        .end(page('Sign-in failed', 'No token was received.'));
      settle?.reject(new CliError('The browser returned no token; nothing was saved.'));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(page('Signed in', 'The meltano-cloud CLI is signed in. You can close this tab.'));
    settle?.resolve(token);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const callback = `http://127.0.0.1:${port}/callback`;
  const url = `${baseUrl}/auth/cli?${new URLSearchParams({ callback, state }).toString()}`;
  ctx.io.err(
    `Open this URL in your browser to sign in:\n\n  ${url}\n\nWaiting for the browser to finish (Ctrl-C to cancel)…\n`,
  );
  if (open) ctx.openBrowser(url);
  const timer = setTimeout(
    () => settle?.reject(new CliError('Timed out waiting for the browser (10 minutes).')),
    LOGIN_TIMEOUT_MS,
  );
  try {
    return await ctx.interruptible(
      (signal) =>
        new Promise<string>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          result.then(resolve, reject);
        }),
      'Login cancelled; nothing was saved.',
    );
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  }
}

export function authCommands(ctx: Context): Command[] {
  const login = example(
    new Command('login')
      .description('Sign in: in the browser, or with a token (--with-token) for CI')
      .option('--with-token', 'read an API token from standard input')
      .option('--base-url <url>', 'the meltano-cloud server (saved for later commands)')
      .option('--no-browser', 'print the sign-in URL without opening a browser')
      .action(async (opts: { withToken?: boolean; baseUrl?: string; browser: boolean }) => {
        const previousBase = ctx.config.storedValue('base_url');
        let baseUrl = (opts.baseUrl ?? ctx.baseUrl).replace(/\/+$/, '');
        try {
          baseUrl = new URL(baseUrl).toString().replace(/\/+$/, '');
        } catch {
          throw new CliError(`'${baseUrl}' is not a URL.`, 2);
        }
        if (ctx.config.get('token').source === 'env')
          ctx.io.err(
            `Note: ${ENV_VARS.token} is set; it takes precedence over the token saved by login.\n`,
          );
        let token: string;
        if (opts.withToken) {
          token = (await readStdin()).trim();
          if (!token)
            throw new CliError(
              'No token on standard input.',
              2,
              'echo "$TOKEN" | meltano-cloud login --with-token',
            );
        } else {
          token = await browserLogin(ctx, baseUrl, opts.browser);
        }
        let me;
        try {
          me = await new ApiClient({ baseUrl, token }).request('me', {});
        } catch (err) {
          if (err instanceof ApiError && err.status === 401)
            throw new CliError(`The token was refused by ${baseUrl}: ${err.detail ?? err.title}`);
          throw err;
        }
        const changedServer = opts.baseUrl !== undefined && opts.baseUrl !== previousBase;
        ctx.config.save({
          token,
          ...(opts.baseUrl !== undefined ? { base_url: baseUrl } : {}),
          ...(changedServer
            ? { organization: undefined, project: undefined, deployment: undefined }
            : {}),
        });
        ctx.io.err(`Logged in to ${baseUrl} as ${me.user.login}.\n`);
        if (!ctx.config.value('organization')) {
          const orgs = await ctx.clientWith(token, baseUrl).request('listOrgs', {});
          const only = orgs.results.length === 1 ? orgs.results[0] : undefined;
          if (only) {
            ctx.config.save({ organization: only.slug });
            ctx.io.err(`Current organization: ${only.slug}\n`);
          } else if (orgs.results.length > 1) {
            ctx.io.err('Choose an organization with `meltano-cloud org use <org>`.\n');
          }
        }
      }),
    'meltano-cloud login',
    'echo "$MELTANO_CLOUD_API_TOKEN" | meltano-cloud login --with-token --base-url https://cloud.example.com',
  );

  const logout = example(
    new Command('logout')
      .description('Revoke the saved token on the server and forget it')
      .action(async () => {
        const token = ctx.config.storedValue('token');
        if (token) {
          try {
            await ctx.clientWith(token).request('revokeCurrentToken', {});
            ctx.io.err('Revoked the token on the server.\n');
          } catch (err) {
            if (err instanceof ApiError && err.status === 401)
              ctx.io.err('The token was already revoked or expired.\n');
            else
              ctx.io.err(
                `Warning: could not revoke the token on ${ctx.baseUrl} (${err instanceof Error ? err.message : String(err)}); ` +
                  'it is forgotten here, revoke it in the dashboard.\n',
              );
          }
        }
        ctx.config.save({ token: undefined });
        ctx.io.err(token ? 'Logged out.\n' : 'You were not logged in.\n');
        if (ctx.config.get('token').source === 'env')
          ctx.io.err(`${ENV_VARS.token} is still set in your environment; unset it too.\n`);
      }),
    'meltano-cloud logout',
  );

  const whoami = example(
    new Command('whoami')
      .description(
        'Show who you are signed in as, and the current organization, project and deployment',
      )
      .addOption(formatOption())
      .action(async (opts: FormatOpts) => {
        const me = await ctx.api.request('me', {});
        const info = {
          base_url: ctx.baseUrl,
          login: me.user.login,
          name: me.user.name,
          token_from: ctx.config.get('token').describe,
          organization: ctx.config.value('organization') ?? null,
          project: ctx.config.value('project') ?? null,
          deployment: ctx.config.value('deployment') ?? null,
        };
        if (opts.format === 'json') {
          ctx.io.out(`${JSON.stringify(info, null, 2)}\n`);
          return;
        }
        const rows: [string, string][] = [
          ['Logged in to', info.base_url],
          [
            'As',
            info.name && info.name !== info.login ? `${info.login} (${info.name})` : info.login,
          ],
          ['Token from', info.token_from],
          ['Organization', info.organization ?? '-'],
          ['Project', info.project ?? '-'],
          ['Deployment', info.deployment ?? '-'],
        ];
        ctx.io.out(
          opts.format === 'markdown'
            ? `| Setting | Value |\n| --- | --- |\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`
            : rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n') + '\n',
        );
      }),
    'meltano-cloud whoami',
  );
  return [login, logout, whoami];
}
