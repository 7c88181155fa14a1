import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml, waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { cliEnv, ensureCliBuilt, runCli, startCli, type CliResult } from './cli-process.js';

const FAKE_MELTANO = path.resolve('test/fixtures/bin/meltano');

/** Lines of a terminal table (or any output) must fit 80 columns. */
const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

const expectOk = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
};

describe('meltano-cloud CLI, end to end (built binary → API → worker → git → meltano)', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let user: TestUser;
  let repo: LocalGitRepo;
  let tmp: string;
  let baseUrl: string;
  let env: NodeJS.ProcessEnv;
  const org = 'cli-org';
  const cli = (args: string[], input?: string, extra: Record<string, string> = {}) =>
    runCli(args, { ...env, ...extra }, input);
  const apiRun = async (id: string) =>
    (await t.http.get(`/orgs/${org}/runs/${id}`).set('authorization', user.bearer).expect(200))
      .body as { status: string; id: string };

  beforeAll(async () => {
    ensureCliBuilt();
    tmp = mkdtempSync(path.join(tmpdir(), 'mc-cli-'));
    mkdirSync(path.join(tmp, 'runs'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: path.join(tmp, 'runs'),
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
    worker = await startWorker(t.config);
    user = await createUserWithToken(t.prisma, 'cli-user');
    await t.http
      .post('/orgs')
      .set('authorization', user.bearer)
      .send({ name: 'CLI Org', slug: org })
      .expect(201);
    repo = new LocalGitRepo();
    repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    env = cliEnv({
      HOME: tmp,
      XDG_CONFIG_HOME: path.join(tmp, 'config'),
      MELTANO_CLOUD_BASE_URL: baseUrl,
      TZ: 'Europe/Berlin',
    });
  }, 150_000);

  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    repo?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses to work before login, saying how to log in', async () => {
    const r = await cli(['project', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('You are not logged in.');
    expect(r.stderr).toContain('meltano-cloud login');
  });

  it('logs in with a token from stdin, keeps it in a 0600 config file and picks the only organization', async () => {
    const r = expectOk(await cli(['login', '--with-token'], `${user.token}\n`));
    expect(r.stderr).toContain('as cli-user');
    expect(r.stderr).toContain(`Current organization: ${org}`);
    const file = path.join(tmp, 'config', 'meltano-cloud', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      token: user.token,
      organization: org,
    });
    const who = expectOk(await cli(['whoami', '--format', 'json']));
    expect(JSON.parse(who.stdout)).toMatchObject({ login: 'cli-user', organization: org });
    const orgs = JSON.parse(expectOk(await cli(['org', 'list', '--format', 'json'])).stdout);
    expect(orgs.map((o: { slug: string }) => o.slug)).toEqual([org]);
  });

  it('creates an organization, makes it current, and switches back', async () => {
    const created = expectOk(await cli(['org', 'create', '--name', 'Side Org']));
    expect(created.stderr).toMatch(
      /Created organization Side Org \(side-org\), billing account MC-\d{10}/,
    );
    const who = JSON.parse(expectOk(await cli(['whoami', '--format', 'json'])).stdout);
    expect(who.organization).toBe('side-org');
    const dup = await cli(['org', 'create', '--name', 'Side Org']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
    expectOk(await cli(['org', 'use', org]));
  });

  it('creates a project and a deployment, waiting for the deploy', async () => {
    const bad = await cli([
      'project',
      'create',
      '--name',
      'Broken',
      '--repo-url',
      repo.url,
      '--root-path',
      '../outside',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error: The request is not valid.');
    expect(bad.stderr).toContain('--root-path: must not contain ..');
    expect(bad.stderr).not.toContain('body.root_path');

    const created = expectOk(
      await cli([
        'project',
        'create',
        '--name',
        'Analytics',
        '--repo-url',
        repo.url,
        '--root-path',
        'data',
      ]),
    );
    expect(created.stdout.trim()).toBe('analytics');
    const list = expectOk(await cli(['project', 'list'], undefined, { COLUMNS: '80' }));
    expect(list.stdout).toMatch(/^\*\s+analytics\s+Analytics\s+file:\/\//m);
    expect(widest(list.stdout)).toBeLessThanOrEqual(80);

    const dep = expectOk(
      await cli([
        'deployment',
        'create',
        '--name',
        'prod',
        '--environment',
        'prod',
        '--git-rev',
        'main',
      ]),
    );
    expect(dep.stderr).toContain('Created deployment prod');
    expect(dep.stderr).toMatch(/Deploying prod from main.*: (queued|running|succeeded)/);
    expect(dep.stderr).toMatch(
      /Deployed prod at commit [0-9a-f]{7}: 3 schedules \(daily-load \[disabled\], hourly-load \[disabled\], prod-only \[disabled\]\)/,
    );
    const deployments = JSON.parse(
      expectOk(await cli(['deployment', 'list', '--format', 'json'])).stdout,
    );
    expect(deployments[0]).toMatchObject({ slug: 'prod', status: 'ready', branch: 'main' });
  }, 40_000);

  it('lists schedules with runs per day, enables one and shows its upcoming runs in the user’s timezone', async () => {
    const list = expectOk(await cli(['schedule', 'list']));
    expect(list.stdout).toMatch(/^SCHEDULE\s+INTERVAL\s+ENABLED\s+RUNS\/DAY\s+NEXT RUN/);
    expect(list.stdout).toMatch(/^daily-load\s+@daily\s+no\s+1\s+-$/m);
    expect(list.stdout).toMatch(/^hourly-load\s+0 \* \* \* \*\s+no\s+24\s+-$/m);
    const md = expectOk(await cli(['schedule', 'list', '--format', 'markdown']));
    expect(md.stdout).toContain('| daily-load | @daily | no | 1 | - |');

    const enabled = expectOk(await cli(['schedule', 'enable', '--schedule', 'daily-load']));
    expect(enabled.stderr).toMatch(
      /Schedule daily-load is enabled on prod; next run \d{4}-\d\d-\d\d 01:00:00 (CET|CEST|GMT\+1|GMT\+2)/,
    );
    const describeSchedule = (...flags: string[]) =>
      cli(['schedule', 'describe', '--schedule', 'daily-load', ...flags]);
    const upcoming = expectOk(await describeSchedule('--num-upcoming', '3', '--only-upcoming'));
    expect(upcoming.stdout.trim().split('\n')).toHaveLength(3);
    const utc = expectOk(await describeSchedule('--num-upcoming', '2', '--utc'));
    expect(utc.stdout).toContain('Enabled:      yes');
    expect(utc.stdout).toMatch(/Upcoming runs \(UTC\):\n {2}\d{4}-\d\d-\d\d 00:00:00 UTC\n/);
  });

  it('sets secrets from a flag and from stdin, and lists them without values', async () => {
    expectOk(await cli(['config', 'env', 'set', '--key', 'FAKE_MELTANO_LINES', '--value', '4']));
    expectOk(await cli(['config', 'env', 'set', '--key', 'API_KEY'], 'sk-live-cli-secret\n'));
    expectOk(
      await cli(['config', 'env', 'set', '--key', 'FAKE_MELTANO_PRINT_ENV', '--value', 'API_KEY']),
    );
    const list = expectOk(await cli(['config', 'env', 'list']));
    expect(list.stdout).toMatch(/^API_KEY\s+project\s+env\s+cli-user/m);
    expect(list.stdout).toContain('FAKE_MELTANO_LINES');
    const json = expectOk(await cli(['config', 'env', 'list', '--format', 'json']));
    expect(json.stdout + list.stdout).not.toContain('sk-live-cli-secret');
    const reserved = await cli(['config', 'env', 'set', '--key', 'PATH', '--value', 'x']);
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toMatch(/--key: is reserved/);
  });

  let succeededId: string;
  it('runs a schedule and waits: progress shown, exit code 0, log printed with secrets masked', async () => {
    const r = expectOk(await cli(['run', 'daily-load', '--wait']));
    succeededId = r.stdout.trim();
    expect(succeededId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toContain(
      `Run ${succeededId} queued: schedule 'daily-load' on deployment prod`,
    );
    expect(r.stderr).toMatch(new RegExp(`Run ${succeededId}: (queued|starting|running)`));
    expect(r.stderr).toMatch(/succeeded in \d+s\./);
    const logs = expectOk(await cli(['logs', 'print', '--execution-id', succeededId]));
    expect(logs.stdout).toContain('MELTANO_ENVIRONMENT=prod');
    expect(logs.stdout).toMatch(/Extracted record 4 of 4[\s\S]*Run completed/);
    expect(logs.stdout).not.toContain('sk-live-cli-secret');
    expectOk(await cli(['config', 'env', 'delete', 'FAKE_MELTANO_PRINT_ENV']));
  }, 30_000);

  let failedId: string;
  it('exits non-zero when the run fails, with the reason', async () => {
    expectOk(await cli(['config', 'env', 'set', '--key', 'FAKE_MELTANO_EXIT', '--value', '3']));
    const r = await cli(['run', 'hourly-load', '--wait']);
    expect(r.code).toBe(1);
    failedId = r.stdout.trim();
    expect(r.stderr).toContain(`Run ${failedId} failed: meltano exited with code 3.`);
    expect(r.stderr).toContain(`meltano-cloud logs print --execution-id ${failedId}`);
    expectOk(await cli(['config', 'env', 'delete', '--key', 'FAKE_MELTANO_EXIT']));
  }, 30_000);

  it('follows a run’s log live until it ends (job given by name)', async () => {
    expectOk(
      await cli(['config', 'env', 'set', '--key', 'FAKE_MELTANO_DELAY_MS', '--value', '40']),
    );
    const started = expectOk(await cli(['run', 'load']));
    const id = started.stdout.trim();
    expect(started.stderr).toContain(`queued: job 'load'`);
    const follow = expectOk(await cli(['logs', 'print', '--execution-id', id, '--follow']));
    expect(follow.stdout).toMatch(
      /MELTANO_ENVIRONMENT=prod[\s\S]*Extracted record 4 of 4[\s\S]*Run completed/,
    );
    expect(follow.stderr).toMatch(new RegExp(`Run ${id} succeeded`));
    expectOk(await cli(['config', 'env', 'delete', '--key', 'FAKE_MELTANO_DELAY_MS']));
  }, 30_000);

  it('stops waiting on Ctrl-C without stopping the run, and `job stop` cancels it', async () => {
    expectOk(await cli(['config', 'env', 'set', '--key', 'FAKE_MELTANO_HANG', '--value', '1']));
    const waiting = startCli(['run', 'load', '--wait'], env);
    const [, id] = await waiting.waitFor(/Run ([0-9a-f-]{36}) queued/);
    await waitFor(async () => (await apiRun(id!)).status === 'running', 20_000, 'run to start');
    await waiting.waitFor(/: running/);
    waiting.child.kill('SIGINT');
    const interrupted = await waiting.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`Stopped waiting; run ${id} continues.`);
    expect((await apiRun(id!)).status).toBe('running');

    const stop = expectOk(await cli(['job', 'stop', '--execution-id', id!]));
    expect(stop.stderr).toMatch(/Stopping run .* \(running\)|cancelled/);
    await waitFor(async () => (await apiRun(id!)).status === 'cancelled', 20_000, 'cancelled');
    const again = await cli(['job', 'stop', '--execution-id', id!]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: .*\(HTTP 409\)/m);
    expectOk(await cli(['config', 'env', 'delete', '--key', 'FAKE_MELTANO_HANG']));
  }, 40_000);

  it('reads history with filters; on 80 columns names give way, ids and times do not', async () => {
    const bySchedule = JSON.parse(
      expectOk(await cli(['history', '--schedule', 'daily-load', '--format', 'json'])).stdout,
    );
    expect(bySchedule.map((r: { id: string }) => r.id)).toEqual([succeededId]);
    const failed = JSON.parse(
      expectOk(await cli(['history', '--result', 'failed', '--lookback', '1h', '--format', 'json']))
        .stdout,
    );
    expect(failed.map((r: { id: string }) => r.id)).toEqual([failedId]);
    const prefix = JSON.parse(
      expectOk(
        await cli([
          'history',
          '--schedule-prefix',
          'hourly',
          '--deployment',
          'prod',
          '--format',
          'json',
        ]),
      ).stdout,
    );
    expect(prefix.map((r: { id: string }) => r.id)).toEqual([failedId]);
    const table = expectOk(await cli(['history', '--limit', '3'], undefined, { COLUMNS: '80' }));
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^EXECUTION ID\s+DEPLO…\s+SCHED…\s+EXECUTED AT \(Europe\/Berlin\)\s+RESULT\s+DURATION\s+START…$/,
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(
      /^[0-9a-f-]{36}\s+prod\s+\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\w+\s+\d+s\s+CLI.*$/,
    );
    expect(table.stderr).toContain('Output truncated to 3 items; use --limit to show more');
    const conflicting = await cli(['history', '--schedule', 'a', '--schedule-prefix', 'b']);
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr).toContain('cannot be used with option');
  });

  it('reads, sets and clears Meltano state', async () => {
    const list = expectOk(await cli(['state', 'list', '--format', 'json']));
    // Written by the runs above under Meltano's own id (`meltano run load` in prod).
    expect(JSON.parse(list.stdout).map((s: { state_id: string }) => s.state_id)).toContain(
      'prod:tap-fake-to-target-fake',
    );
    expectOk(
      await cli(['state', 'set', '--state-id', 'prod:load'], '{"singer_state": {"bookmark": 40}}'),
    );
    const got = expectOk(await cli(['state', 'get', '--state-id', 'prod:load']));
    expect(JSON.parse(got.stdout)).toEqual({ singer_state: { bookmark: 40 } });
    expectOk(await cli(['state', 'clear', '--state-id', 'prod:load']));
    const gone = await cli(['state', 'get', '--state-id', 'prod:load']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('State "prod:load" not found');
  });

  it('manages notifications', async () => {
    const set = expectOk(
      await cli([
        'config',
        'notification',
        'set',
        'webhook',
        '--recipient',
        'https://hooks.example.com/meltano',
        '--events',
        'run.failed,deploy.failed',
      ]),
    );
    expect(set.stdout.trim()).not.toBe('');
    expect(set.stderr).toContain('shown only now');
    const list = expectOk(await cli(['config', 'notification', 'list']));
    expect(list.stdout).toMatch(
      /webhook\s+https:\/\/hooks\.example\.com\/meltano\s+yes\s+run\.failed,deploy\.failed/,
    );
    expectOk(
      await cli([
        'config',
        'notification',
        'update',
        'webhook',
        '--recipient',
        'https://hooks.example.com/meltano',
        '--inactive',
      ]),
    );
    const json = JSON.parse(
      expectOk(await cli(['config', 'notification', 'list', '--format', 'json'])).stdout,
    );
    expect(json[0]).toMatchObject({ active: false, kind: 'webhook' });
    const badEvent = await cli([
      'config',
      'notification',
      'set',
      'email',
      '--recipient',
      'a@example.com',
      '--events',
      'run.exploded',
    ]);
    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toContain('Unknown event run.exploded');
    expectOk(
      await cli([
        'config',
        'notification',
        'delete',
        'webhook',
        '--recipient',
        'https://hooks.example.com/meltano',
      ]),
    );
  });

  it('prints dashboard URLs', async () => {
    const deployment = expectOk(await cli(['web', '--no-browser']));
    expect(deployment.stdout.trim()).toBe(`${baseUrl}/#/o/${org}/p/analytics/d/prod`);
    const run = expectOk(await cli(['web', '--no-browser', '--execution-id', succeededId]));
    expect(run.stdout.trim()).toBe(`${baseUrl}/#/o/${org}/runs/${succeededId}`);
  });

  it('redeploys and deletes a deployment', async () => {
    const deploy = expectOk(await cli(['deployment', 'deploy']));
    expect(deploy.stderr).toMatch(/Deployed prod at commit [0-9a-f]{7}/);
    expectOk(
      await cli([
        'deployment',
        'create',
        '--name',
        'staging',
        '--environment',
        'dev',
        '--git-rev',
        'main',
        '--no-wait',
      ]),
    );
    const refused = await cli(['deployment', 'delete', '--name', 'staging']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('without --yes');
    expectOk(await cli(['deployment', 'delete', '--name', 'staging', '--yes']));
    expectOk(await cli(['deployment', 'use', '--name', 'prod']));
    const names = JSON.parse(
      expectOk(await cli(['deployment', 'list', '--format', 'json'])).stdout,
    );
    expect(names.map((d: { slug: string }) => d.slug)).toEqual(['prod']);
  }, 30_000);

  describe('error paths', () => {
    it('unknown project: names it and where it came from', async () => {
      const r = await cli(['deployment', 'list'], undefined, { MELTANO_CLOUD_PROJECT: 'nope' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `Error: Project 'nope' (from MELTANO_CLOUD_PROJECT) not found in organization ${org}. See \`meltano-cloud project list\`.`,
      );
    });

    it('unknown schedule and bad flag values', async () => {
      const r = await cli(['schedule', 'enable', '--schedule', 'nightly']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "Error: No schedule named 'nightly' on deployment prod.\nSchedules: daily-load, hourly-load, prod-only",
      );
      const flag = await cli(['history', '--bogus']);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toContain("error: unknown option '--bogus'");
      const limit = await cli(['history', '--limit', 'many']);
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit must be a whole number');
      const missing = await cli(['logs', 'print']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("required option '--execution-id <id>' not specified");
    });

    it('server down: says which URL could not be reached', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const r = await cli(['org', 'list'], undefined, {
        MELTANO_CLOUD_BASE_URL: `http://127.0.0.1:${port}`,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `Error: Could not reach http://127.0.0.1:${port}/orgs: connection refused (ECONNREFUSED).`,
      );
      expect(r.stderr).toContain('MELTANO_CLOUD_BASE_URL');
    });

    it('a revoked or wrong token: the API’s message and how to log in again', async () => {
      const r = await cli(['org', 'list'], undefined, { MELTANO_CLOUD_TOKEN: 'mc_pat_wrong' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Error: The API token is invalid, expired or revoked. (HTTP 401)');
      expect(r.stderr).toContain('meltano-cloud login');
    });
  });

  describe('browser login', () => {
    const freshEnv = () =>
      cliEnv({
        HOME: tmp,
        XDG_CONFIG_HOME: mkdtempSync(path.join(tmp, 'browser-')),
        MELTANO_CLOUD_BASE_URL: baseUrl,
      });

    it('approves in the browser; the CLI checks state and saves the token (0600)', async () => {
      const browserEnv = freshEnv();
      const login = startCli(['login', '--no-browser'], browserEnv);
      const [printed] = await login.waitFor(/http:\/\/127\.0\.0\.1:\d+\/auth\/cli\?\S+/);
      const url = new URL(printed);
      const callback = url.searchParams.get('callback')!;
      const state = url.searchParams.get('state')!;
      expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(state.length).toBeGreaterThanOrEqual(16);

      // The user's browser: signed in to the dashboard, opens the page, approves.
      const browser = supertest.agent(t.app.getHttpServer());
      await browser.post('/auth/dev-login').send({ login: 'browser-user' }).expect(200);
      const approval = await browser.get(url.pathname + url.search).expect(200);
      const csrf = /name="csrf_token" value="([^"]+)"/.exec(approval.text)?.[1];
      const approved = await browser
        .post('/auth/cli')
        .type('form')
        .send({ callback, state, csrf_token: csrf })
        .expect(303);
      const back = await fetch(approved.headers.location as string);
      expect(back.status).toBe(200);
      expect(await back.text()).toContain('You can close this tab');

      const done = await login.done;
      expect(done.code).toBe(0);
      expect(done.stderr).toContain('Logged in to');
      expect(done.stderr).toContain('as browser-user');
      const file = path.join(browserEnv.XDG_CONFIG_HOME!, 'meltano-cloud', 'config.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(readFileSync(file, 'utf8'));
      expect(saved.token).toMatch(/^mc_pat_/);
      const who = expectOk(await runCli(['whoami'], browserEnv));
      expect(who.stdout).toMatch(/As:\s+browser-user/);
    });

    it('refuses a callback with another state and saves nothing', async () => {
      const browserEnv = freshEnv();
      const login = startCli(['login', '--no-browser'], browserEnv);
      const [printed] = await login.waitFor(/http:\/\/127\.0\.0\.1:\d+\/auth\/cli\?\S+/);
      const callback = new URL(printed).searchParams.get('callback')!;
      const forged = await fetch(`${callback}?token=mc_pat_forged&state=not-the-one`);
      expect(forged.status).toBe(400);
      const done = await login.done;
      expect(done.code).toBe(1);
      expect(done.stderr).toContain('different state');
      expect(() =>
        statSync(path.join(browserEnv.XDG_CONFIG_HOME!, 'meltano-cloud', 'config.json')),
      ).toThrow();
    });

    it('Ctrl-C while waiting for the browser ends cleanly', async () => {
      const login = startCli(['login', '--no-browser'], freshEnv());
      await login.waitFor(/Waiting for the browser/);
      login.child.kill('SIGINT');
      const done = await login.done;
      expect(done.code).toBe(130);
      expect(done.stderr).toContain('Login cancelled; nothing was saved.');
    });
  });

  it('logout revokes the token on the server and forgets it', async () => {
    const out = expectOk(await cli(['logout']));
    expect(out.stderr).toContain('Revoked the token on the server.');
    const r = await cli(['whoami']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('You are not logged in.');
    const revoked = await cli(['whoami'], undefined, { MELTANO_CLOUD_TOKEN: user.token });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('The API token is invalid, expired or revoked. (HTTP 401)');
  });
});
