/**
 * The invocations of Meltano Cloud's own CLI reference, as written, against
 * this service (built binary → API → worker → git → meltano stand-in).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml, waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { cliEnv, ensureCliBuilt, runCli, runCliInTty, type CliResult } from './cli-process.js';

const FAKE_MELTANO = path.resolve('test/fixtures/bin/meltano');
const LONG = 'staging-for-the-analytics-team-in-europe-west';
const ANSI = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex -- terminal colour codes

const expectOk = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
};
const json = <T = unknown>(r: CliResult): T => JSON.parse(expectOk(r).stdout) as T;

/** The schedules of the second commit: one more, and one running tap → target without transforms. */
const secondMeltanoYml = `${sampleMeltanoYml}  - name: elt-no-transform
    interval: '@daily'
    extractor: tap-fake
    loader: target-fake
    transform: skip
`;

describe('meltano-cloud CLI: Meltano Cloud’s documented invocations', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let user: TestUser;
  let repo: LocalGitRepo;
  let tmp: string;
  let baseUrl: string;
  let env: NodeJS.ProcessEnv;
  let configFile: string;
  let firstCommit: string;
  const org = 'parity-org';
  const cli = (args: string[], input?: string, extra: Record<string, string> = {}) =>
    runCli(['--config-path', configFile, ...args], { ...env, ...extra }, input);
  const api = (url: string) => t.http.get(url).set('authorization', user.bearer).expect(200);
  const deployments = `/orgs/${org}/projects/analytics/deployments`;
  /** Edits the settings file as a person would (e.g. to forget the current deployment). */
  const editConfig = (patch: Record<string, string | undefined>) => {
    const current = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, string>;
    writeFileSync(configFile, JSON.stringify({ ...current, ...patch }), { mode: 0o600 });
  };

  beforeAll(async () => {
    ensureCliBuilt();
    tmp = mkdtempSync(path.join(tmpdir(), 'mc-parity-'));
    mkdirSync(path.join(tmp, 'runs'));
    configFile = path.join(tmp, 'elsewhere', 'cloud.json');
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: path.join(tmp, 'runs'),
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
    worker = await startWorker(t.config);
    user = await createUserWithToken(t.prisma, 'parity-user');
    await t.http
      .post('/orgs')
      .set('authorization', user.bearer)
      .send({ name: 'Parity Org', slug: org })
      .expect(201);
    repo = new LocalGitRepo();
    firstCommit = repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
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
  }, 90_000);

  it('--config-path: the settings live in the file named, not in $XDG_CONFIG_HOME', async () => {
    expectOk(await cli(['login', '--with-token'], `${user.token}\n`));
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toMatchObject({ organization: org });
    expect(existsSync(path.join(tmp, 'config', 'meltano-cloud', 'config.json'))).toBe(false);
    const elsewhere = await runCli(['whoami'], env);
    expect(elsewhere.stderr).toContain('You are not logged in.');
    expect(json<{ login: string }>(await cli(['whoami', '--format', 'json'])).login).toBe(
      'parity-user',
    );
  }, 90_000);

  it('docs prints the documentation URL, and opens it (xdg-open) unless --no-browser', async () => {
    expect(expectOk(await cli(['docs', '--no-browser'])).stdout).toBe(`${baseUrl}/api/docs\n`);
    // A stand-in xdg-open that records the URL it was asked to open.
    const bin = path.join(tmp, 'opener-bin');
    const opened = path.join(tmp, 'opened.txt');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      path.join(bin, 'xdg-open'),
      `#!/bin/sh\nprintf '%s\\n' "$1" > '${opened}.part' && mv '${opened}.part' '${opened}'\n`,
      {
        mode: 0o755,
      },
    );
    const r = expectOk(await cli(['docs'], undefined, { PATH: `${bin}:${env.PATH ?? ''}` }));
    expect(r.stdout).toBe(`${baseUrl}/api/docs\n`);
    // The opener runs detached from the CLI, which does not wait for it.
    await waitFor(async () => existsSync(opened), 10_000, 'xdg-open');
    expect(readFileSync(opened, 'utf8')).toBe(`${baseUrl}/api/docs\n`);
  }, 90_000);

  it('only the first deployment of a project becomes current; a project with one uses it', async () => {
    expectOk(
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
    const none = await cli(['schedule', 'list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Project analytics has no deployments yet.');
    const prod = expectOk(
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
    expect(prod.stderr).toContain('it is now the current deployment');
    editConfig({ deployment: undefined });
    const only = expectOk(await cli(['schedule', 'describe', '--schedule', 'daily-load']));
    expect(only.stdout).toMatch(/^Deployment: +prod$/m);

    const second = expectOk(
      await cli([
        'deployment',
        'create',
        '--name',
        LONG,
        '--environment',
        'dev',
        '--git-rev',
        'main',
      ]),
    );
    expect(second.stderr).toContain(`the current deployment is still unset`);
    expect(second.stderr).toMatch(/Deployed staging-for-.* at commit/);
    expectOk(await cli(['deployment', 'use', '--name', 'prod']));
    const third = expectOk(
      await cli([
        'deployment',
        'create',
        '--name',
        'qa',
        '--environment',
        'dev',
        '--git-rev',
        'main',
        '--no-wait',
      ]),
    );
    expect(third.stderr).toContain('the current deployment is still prod');
    expect(json<{ deployment: string }>(await cli(['whoami', '--format', 'json'])).deployment).toBe(
      'prod',
    );
    expectOk(await cli(['deployment', 'delete', '--name', 'qa', '--yes']));
  }, 90_000);

  it('refuses, before creating it, a deployment whose environment meltano.yml does not declare', async () => {
    const r = await cli([
      'deployment',
      'create',
      '--name',
      'bad',
      '--environment',
      'nope',
      '--git-rev',
      'main',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "data/meltano.yml on branch 'main' has no environment 'nope'; it declares: dev, prod.",
    );
    expect(r.stderr).toContain('--environment: must be one of dev, prod');
    // A branch no deployment has read yet: meltano.yml is read there before creating.
    repo.commit(
      { 'data/meltano.yml': sampleMeltanoYml.replace('  - name: prod\n', '  - name: qa\n') },
      'qa instead of prod',
      'fresh',
    );
    const fresh = await cli([
      'deployment',
      'create',
      '--name',
      'fresh',
      '--environment',
      'prod',
      '--git-rev',
      'fresh',
    ]);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain(
      "data/meltano.yml on branch 'fresh' has no environment 'prod'; it declares: dev, qa.",
    );
    expect(fresh.stderr).toContain('--environment: must be one of dev, qa');
    const slugs = json<{ slug: string }[]>(
      await cli(['deployment', 'list', '--format', 'json']),
    ).map((d) => d.slug);
    expect(slugs).toEqual(['prod', LONG]);
  }, 90_000);

  it('a failed first deploy says how to fix it and how to retry; the retry works once fixed', async () => {
    const failed = await cli([
      'deployment',
      'create',
      '--name',
      'later',
      '--environment',
      'dev',
      '--git-rev',
      'later',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /Error: Deploy of later failed: Could not clone .* at branch 'later'/,
    );
    expect(failed.stderr).toContain('Fix it in the repository (push to later)');
    expect(failed.stderr).toContain(
      'then retry with `meltano-cloud deployment update --name later`.',
    );
    repo.commit({ 'data/README.md': 'later\n' }, 'branch for later', 'later');
    const retried = expectOk(await cli(['deployment', 'update', '--name', 'later']));
    expect(retried.stderr).toMatch(/Deployed later at commit [0-9a-f]{7}: 2 schedules/);
    expectOk(await cli(['deployment', 'delete', '--name', 'later', '--yes']));
  }, 90_000);

  it('deployment update --name X: redeploys the branch head; --force; --preserve-git-hash', async () => {
    const upToDate = expectOk(await cli(['deployment', 'update', '--name', 'prod']));
    expect(upToDate.stderr).toContain(
      `Deployment prod is already up to date at commit ${firstCommit.slice(0, 7)} of main: no changes were detected.\nUse --force to redeploy anyway.`,
    );
    const forced = expectOk(await cli(['deployment', 'update', '--name', 'prod', '--force']));
    expect(forced.stderr).toContain(
      `Deployed prod at commit ${firstCommit.slice(0, 7)}: 3 schedules`,
    );
    const deploys = (await api(`${deployments}/prod/deploys`)).body as {
      results: { status: string; message: string; commit_sha: string }[];
    };
    expect(deploys.results[0]).toMatchObject({ status: 'succeeded', commit_sha: firstCommit });
    expect(deploys.results[0]?.message).not.toContain('Already up to date');
    expect(deploys.results[1]?.message).toContain('Already up to date');

    const second = repo.commit({ 'data/meltano.yml': secondMeltanoYml }, 'one more schedule');
    const preserved = expectOk(
      await cli(['deployment', 'update', '--name', 'prod', '--preserve-git-hash']),
    );
    expect(preserved.stderr).toContain(
      `Redeploying prod at its deployed commit ${firstCommit.slice(0, 7)}`,
    );
    expect(preserved.stderr).toContain(
      `Deployed prod at commit ${firstCommit.slice(0, 7)}: 3 schedules`,
    );
    expect((await api(`${deployments}/prod`)).body).toMatchObject({
      deployed_commit_sha: firstCommit,
    });

    const head = expectOk(await cli(['deployment', 'update', '--name', 'prod']));
    expect(head.stderr).toContain(`Deployed prod at commit ${second.slice(0, 7)}: 4 schedules`);
    expect(head.stderr).toContain('elt-no-transform [disabled]');

    const env = expectOk(
      await cli(['deployment', 'update', '--name', LONG, '--environment', 'prod']),
    );
    expect(env.stderr).toContain(`Updated deployment ${LONG}: environment prod, main.`);
    expect(env.stderr).toMatch(/Deployed staging-for-\S+ at commit [0-9a-f]{7}: 4 schedules/);
  }, 90_000);

  it('schedule describe: a disabled schedule is marked and has no upcoming runs; transform: skip is not a step', async () => {
    const d = expectOk(await cli(['schedule', 'describe', '--schedule', 'elt-no-transform']));
    expect(d.stdout).toMatch(/^Runs: +tap-fake → target-fake$/m);
    expect(d.stdout).toContain('Enabled:      no (DISABLED');
    expect(d.stdout).toContain('No upcoming runs: the schedule is disabled.');
    expect(d.stdout).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    const j = json<{ upcoming: string[]; runs_per_day: number }>(
      await cli(['schedule', 'describe', '--schedule', 'elt-no-transform', '--format', 'json']),
    );
    expect(j.upcoming).toEqual([]);
    expect(j.runs_per_day).toBe(1);
  }, 90_000);

  it('"not found" names the thing and lists what exists; errors speak in flags', async () => {
    const run = await cli(['run', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "Error: No schedule or job named 'nope' on deployment prod.\n" +
        'Schedules: daily-load, hourly-load, prod-only, elt-no-transform\nJobs: load\n',
    );
    const enable = await cli(['schedule', 'enable', '--schedule', 'nope', '--deployment', LONG]);
    expect(enable.stderr).toContain(`Error: No schedule named 'nope' on deployment ${LONG}.`);
    const bad = await cli([
      'project',
      'create',
      '--name',
      'x',
      '--repo-url',
      repo.url,
      '--root-path',
      '../outside',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('  - --root-path: must not contain ..');
    expect(bad.stderr).not.toContain('body.');
  }, 90_000);

  it('schedule list with no current deployment lists every deployment’s, with a DEPLOYMENT column; --limit cuts with a notice', async () => {
    editConfig({ deployment: undefined });
    const all = expectOk(await cli(['schedule', 'list']));
    expect(all.stdout).toMatch(
      /^DEPLOYMENT\s+SCHEDULE\s+INTERVAL\s+ENABLED\s+RUNS\/DAY\s+NEXT RUN \(Europe\/Berlin\)$/m,
    );
    expect(all.stdout).toMatch(/^prod\s+daily-load\s/m);
    expect(all.stdout).toMatch(new RegExp(`^${LONG}\\s+daily-load\\s`, 'm'));
    expect(all.stderr).toBe('');
    const cut = expectOk(await cli(['schedule', 'list', '--limit', '2', '--format', 'json']));
    expect(JSON.parse(cut.stdout)).toHaveLength(2);
    expect(cut.stderr).toBe(
      'Output truncated to 2 items; use --limit to show more (e.g. --limit 20).\n',
    );
    editConfig({ deployment: 'prod' });
  }, 90_000);

  it('config env list shows deployment overrides with their scope; config env delete NAME', async () => {
    expectOk(await cli(['config', 'env', 'set', '--key', 'TAP_TOKEN', '--value', 'p']));
    expectOk(
      await cli([
        'config',
        'env',
        'set',
        '--key',
        'TAP_TOKEN',
        '--value',
        'd',
        '--deployment',
        'prod',
      ]),
    );
    expectOk(
      await cli([
        'config',
        'env',
        'set',
        '--key',
        'ONLY_STAGING',
        '--value',
        's',
        '--deployment',
        LONG,
      ]),
    );
    const list = expectOk(await cli(['config', 'env', 'list']));
    expect(list.stdout).toMatch(/^TAP_TOKEN\s+project\s+env/m);
    expect(list.stdout).toMatch(/^TAP_TOKEN\s+deployment prod\s+env/m);
    expect(list.stdout).toMatch(new RegExp(`^ONLY_STAGING\\s+deployment ${LONG}\\s+env`, 'm'));
    const forProd = expectOk(await cli(['config', 'env', 'list', '--deployment', 'prod']));
    expect(forProd.stdout).toMatch(/^TAP_TOKEN\s+deployment prod/m);
    expect(forProd.stdout).not.toContain('ONLY_STAGING');
    expectOk(await cli(['config', 'env', 'delete', 'TAP_TOKEN', '--deployment', 'prod']));
    expectOk(await cli(['config', 'env', 'delete', 'ONLY_STAGING', '--deployment', LONG]));
    expectOk(await cli(['config', 'env', 'delete', 'TAP_TOKEN']));
    expect(expectOk(await cli(['config', 'env', 'list'])).stdout).toBe('No secrets set.\n');
  }, 90_000);

  it('state delete --state-id', async () => {
    expectOk(
      await cli(['state', 'set', '--state-id', 'prod:load', '--value', '{"singer_state": {}}']),
    );
    expect(expectOk(await cli(['state', 'delete', '--state-id', 'prod:load'])).stderr).toBe(
      'Cleared state prod:load.\n',
    );
    expect((await cli(['state', 'get', '--state-id', 'prod:load'])).code).toBe(1);
  }, 90_000);

  it('notifications: Meltano Cloud’s --filter vocabulary (OR of ANDs) and --status active|inactive', async () => {
    const hook = 'https://hooks.example.com/parity';
    expectOk(
      await cli([
        'config',
        'notification',
        'set',
        'webhook',
        '--recipient',
        hook,
        '--filter',
        '[{"events": ["job_run"], "status": ["failed"]}, {"events": ["job_run"], "status": ["succeeded"], "deployment": "prod"}]',
      ]),
    );
    const [channel] = json<{ filters: unknown[]; active: boolean }[]>(
      await cli(['config', 'notification', 'list', '--format', 'json']),
    );
    expect(channel?.filters).toEqual([
      { events: ['run.failed', 'run.timed_out'] },
      { events: ['run.succeeded'], deployment: 'prod' },
    ]);
    const all = expectOk(
      await cli([
        'config',
        'notification',
        'set',
        'email',
        '--recipient',
        'team@example.com',
        '--filter',
        '{"events": ["all"]}',
      ]),
    );
    expect(all.stderr).toContain(
      'run.succeeded,run.failed,run.cancelled,run.timed_out,schedule.skipped,deploy.failed',
    );
    const badStatus = await cli([
      'config',
      'notification',
      'set',
      'email',
      '--recipient',
      'x@example.com',
      '--filter',
      '{"events": ["job_run"], "status": ["exploded"]}',
    ]);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('Unknown status exploded in --filter.');

    const update = (status: string) =>
      cli(['config', 'notification', 'update', 'webhook', '--recipient', hook, '--status', status]);
    expect(expectOk(await update('inactive')).stderr).toContain(': paused,');
    expect(expectOk(await update('active')).stderr).toContain(': active,');
    expect((await update('sleeping')).code).toBe(2);
  }, 90_000);

  it('history: DEPLOYMENT column, full date and time with the zone in the header, names never cut when piped, --deployment-prefix/-contains, --filter', async () => {
    expectOk(await cli(['run', 'daily-load', '--wait']));
    expectOk(await cli(['run', 'daily-load', '--wait', '--deployment', LONG]));
    const table = expectOk(await cli(['history']));
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^EXECUTION ID\s+DEPLOYMENT\s+SCHEDULE\s+EXECUTED AT \(Europe\/Berlin\)\s+RESULT\s+DURATION\s+STARTED BY$/,
    );
    // Started with the CLI, by the person signed in.
    expect(lines[1]).toMatch(
      new RegExp(
        `^[0-9a-f-]{36}\\s+${LONG}\\s+daily-load\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+succeeded\\s+\\d+s\\s+CLI · parity-user$`,
      ),
    );
    expect(lines[2]).toMatch(/^[0-9a-f-]{36}\s+prod\s+daily-load\s/);
    expect(table.stdout).not.toContain('…');
    expect(table.stdout).not.toMatch(ANSI);
    const utc = expectOk(await cli(['history', '--utc']));
    expect(utc.stdout).toMatch(/EXECUTED AT \(UTC\)/);

    type Row = {
      id: string;
      deployment_name: string;
      schedule_name: string | null;
      trigger: string;
      triggered_by: { login: string } | null;
    };
    const [latest] = json<Row[]>(await cli(['history', '--limit', '1', '--format', 'json']));
    expect(latest).toMatchObject({ trigger: 'cli', triggered_by: { login: 'parity-user' } });
    // Billed as any run started by someone: 1 credit.
    expect(
      await t.prisma.usageLedgerEntry.findUniqueOrThrow({ where: { runId: latest!.id } }),
    ).toMatchObject({ trigger: 'cli', creditsTenths: 10 });
    const prefix = json<Row[]>(
      await cli(['history', '--deployment-prefix', 'stag', '--format', 'json']),
    );
    expect(prefix.map((r) => [r.deployment_name, r.schedule_name])).toEqual([[LONG, 'daily-load']]);
    const contains = json<Row[]>(
      await cli(['history', '--deployment-contains', 'rod', '--format', 'json']),
    );
    expect(contains.map((r) => r.deployment_name)).toEqual(['prod']);
    const filtered = json<Row[]>(await cli(['history', '--filter', 'daily', '--format', 'json']));
    expect(filtered).toHaveLength(2);
    const none = json<Row[]>(
      await cli(['history', '--deployment-prefix', 'zzz', '--format', 'json']),
    );
    expect(none).toEqual([]);
    const cut = expectOk(await cli(['history', '--limit', '1']));
    expect(cut.stdout.trim().split('\n')).toHaveLength(2);
    expect(cut.stderr).toContain('Output truncated to 1 item; use --limit to show more');
  }, 90_000);

  describe('on a terminal (a pseudo-terminal through util-linux `script`)', () => {
    const tty = (args: string[], input?: { waitFor: RegExp; type: string }, extra = {}) =>
      runCliInTty(['--config-path', configFile, ...args], { ...env, ...extra }, input);

    it('project use / deployment use with no flag offer a choice; without a terminal they say which flag', async () => {
      const piped = await cli(['project', 'use']);
      expect(piped.code).toBe(2);
      expect(piped.stderr).toContain(
        'Say which project: --name <name> or --id <id> (not a terminal',
      );
      expect(piped.stderr).toContain('Projects: analytics');
      const pipedDeployment = await cli(['deployment', 'use']);
      expect(pipedDeployment.code).toBe(2);
      expect(pipedDeployment.stderr).toContain('Say which deployment: --name <name>');
      expect(pipedDeployment.stderr).toContain(`Deployments: prod, ${LONG}`);

      const project = await tty(['project', 'use'], { waitFor: /Project \[1-1/, type: '1\r' });
      expect(project.output).toContain('1) analytics (Analytics');
      expect(project.output).toContain('Current project: analytics (Analytics)');
      expect(project.code).toBe(0);

      const deployment = await tty(['deployment', 'use'], {
        waitFor: /Deployment \[1-2/,
        type: '2\r',
      });
      expect(deployment.output).toContain('1) prod (environment prod, main) *');
      expect(deployment.output).toContain(`2) ${LONG} (environment prod, main)`);
      expect(deployment.output).toContain(`Current deployment: ${LONG}`);
      expect(deployment.code).toBe(0);
      expect(JSON.parse(readFileSync(configFile, 'utf8'))).toMatchObject({ deployment: LONG });
      expectOk(await cli(['deployment', 'use', '--name', 'prod']));
    }, 90_000);

    it('colour on a terminal, none with NO_COLOR; names give way to the terminal’s width', async () => {
      const coloured = await tty(['history']);
      expect(coloured.code).toBe(0);
      expect(coloured.output).toMatch(/\x1b\[32msucceeded\x1b\[0m/); // eslint-disable-line no-control-regex -- green
      expect(coloured.output).toMatch(/ stag\S*…/);
      const plain = await tty(['history'], undefined, { NO_COLOR: '1' });
      expect(plain.output).not.toMatch(ANSI);
      expect(plain.output).toMatch(/succeeded/);
    }, 90_000);
  });

  it('--limit on every list command; the notice on stderr only when it cuts', async () => {
    const lists = [
      ['org', 'list'],
      ['project', 'list'],
      ['deployment', 'list'],
      ['schedule', 'list'],
      ['history'],
      ['config', 'env', 'list'],
      ['config', 'notification', 'list'],
      ['state', 'list'],
      ['usage'],
    ];
    for (const args of lists) {
      const r = expectOk(await cli([...args, '--limit', '1', '--format', 'json']));
      const out = JSON.parse(r.stdout) as unknown;
      const items = Array.isArray(out) ? out : (out as { totals: unknown[] }).totals;
      expect([args.join(' '), items.length <= 1]).toEqual([args.join(' '), true]);
    }
    // Two deployments and two notification channels: cut to one, with the notice.
    for (const args of [
      ['deployment', 'list'],
      ['config', 'notification', 'list'],
    ]) {
      const cut = expectOk(await cli([...args, '--limit', '1']));
      expect(cut.stdout.trim().split('\n')).toHaveLength(2);
      expect(cut.stderr).toContain('Output truncated to 1 item; use --limit to show more');
    }
    const whole = expectOk(await cli(['org', 'list', '--limit', '1']));
    expect(whole.stderr).toBe('');
  }, 90_000);

  it('logout revokes its token on the server', async () => {
    expectOk(await cli(['logout']));
    const r = await runCli(['org', 'list'], { ...env, MELTANO_CLOUD_TOKEN: user.token });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The API token is invalid, expired or revoked. (HTTP 401)');
  }, 90_000);
});
