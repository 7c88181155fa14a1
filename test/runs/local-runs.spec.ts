import path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, type RoleUsers } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml, waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';

const FAKE_MELTANO = path.resolve('test/fixtures/bin/meltano');

/** A killed process counts as gone even while it is a zombie (this container's pid 1 does not reap orphans). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('runs end to end: API → worker → local executor → real git → meltano', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let repo: LocalGitRepo;
  let workdir: string;
  let firstCommit: string;
  const org = 'runs-org';
  const dep = `/orgs/${org}/projects/analytics/deployments/prod`;
  const api = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string, body?: object) => {
    const req = t.http[method](url).set('authorization', users.owner.bearer);
    return body ? req.send(body) : req;
  };
  const setSecret = (name: string, value: string) =>
    api('put', `/orgs/${org}/projects/analytics/secrets/${name}`, { value }).expect((r) =>
      expect(r.status).toBeLessThan(300),
    );
  const finished = (id: string) =>
    waitFor(
      async () => {
        const run = (await api('get', `/orgs/${org}/runs/${id}`)).body;
        return ['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped'].includes(run.status)
          ? run
          : null;
      },
      30_000,
      `run ${id} to finish`,
    );
  const logText = async (id: string) =>
    ((await api('get', `/orgs/${org}/runs/${id}/logs`)).body.lines as { line: string }[])
      .map((l) => l.line)
      .join('\n');

  beforeAll(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'mc-worker-'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
    });
    worker = await startWorker(t.config);
    users = await createRoleUsers(t.prisma);
    repo = new LocalGitRepo();
    firstCommit = repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    await t.http
      .post('/orgs')
      .set('authorization', users.owner.bearer)
      .send({ name: 'Runs Org', slug: org })
      .expect(201);
    await api('post', `/orgs/${org}/projects`, {
      name: 'Analytics',
      repository: repo.url,
      root_path: 'data',
    }).expect(201);
    await api('post', `/orgs/${org}/projects/analytics/deployments`, {
      name: 'prod',
      environment: 'prod',
      branch: 'main',
    }).expect(201);
    await waitFor(
      async () => (await api('get', dep)).body.status === 'ready',
      20_000,
      'first deploy',
    );
  }, 60_000);
  afterAll(async () => {
    await worker.stop();
    await t.close();
    repo.remove();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('deploys from the branch head: commit recorded, schedules of the environment synced disabled', async () => {
    const deployment = (await api('get', dep)).body;
    expect(deployment.deployed_commit_sha).toBe(firstCommit);
    const deploys = (await api('get', `${dep}/deploys`)).body.results;
    expect(deploys[0]).toMatchObject({
      status: 'succeeded',
      commit_sha: firstCommit,
      trigger: 'create',
    });
    const schedules = (await api('get', `${dep}/schedules`)).body.results;
    expect(schedules.map((s: { name: string; enabled: boolean }) => [s.name, s.enabled])).toEqual([
      ['daily-load', false],
      ['hourly-load', false],
      ['prod-only', false],
    ]);
  });

  it('runs a schedule by hand: logs in order, environment set, every wait recorded, usage metered', async () => {
    await setSecret('FAKE_MELTANO_LINES', '4');
    await setSecret('API_KEY', 'sk-live-super-secret-value');
    await setSecret('FAKE_MELTANO_PRINT_ENV', 'API_KEY');
    const created = await api('post', `${dep}/runs`, { schedule: 'daily-load' }).expect(201);
    expect(created.body).toMatchObject({
      status: 'queued',
      target: 'daily-load',
      trigger: 'api',
      commit_sha: firstCommit,
    });
    const run = await finished(created.body.id);
    expect(run).toMatchObject({ status: 'succeeded', exit_code: 0, status_reason: null });
    for (const field of [
      'queued_at',
      'admitted_at',
      'started_at',
      'pipeline_started_at',
      'finished_at',
    ]) {
      expect(run[field]).toEqual(expect.any(String));
    }
    expect(Date.parse(run.admitted_at)).toBeLessThanOrEqual(Date.parse(run.started_at));
    expect(Date.parse(run.started_at)).toBeLessThanOrEqual(Date.parse(run.pipeline_started_at));
    // The first run of the commit installs the plugins: its own step of the timeline.
    expect(run.plugin_install).toBe('installed');
    expect(run.steps.map((step: { name: string }) => step.name)).toEqual([
      'queued',
      'clone',
      'install',
      'pipeline',
    ]);
    expect(run.steps[2]).toMatchObject({
      started_at: run.install_started_at,
      finished_at: run.install_finished_at,
      note: 'meltano install ran for this run',
      billed: false,
    });
    expect(Date.parse(run.install_finished_at)).toBeLessThanOrEqual(
      Date.parse(run.pipeline_started_at),
    );
    const lines = (await api('get', `/orgs/${org}/runs/${run.id}/logs`)).body.lines as {
      seq: number;
      line: string;
    }[];
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_l, i) => i + 1));
    const text = lines.map((l) => l.line).join('\n');
    expect(text).toContain('MELTANO_ENVIRONMENT=prod');
    expect(text).toMatch(
      /Extracted record 1 of 4[\s\S]*Extracted record 4 of 4[\s\S]*Run completed/,
    );
    // The secret reached the pipeline but never the stored log.
    // FAKE_MELTANO_PRINT_ENV (itself a secret, so masked too) made the pipeline print API_KEY=<value>.
    expect(text).toMatch(/^\*\*\*\*=\*\*\*\*$/m);
    expect(text).not.toContain('sk-live-super-secret-value');
    // Its one usage ledger row (a manual run: 1 credit).
    const usage = await t.prisma.usageLedgerEntry.findMany({ where: { runId: run.id } });
    expect(usage.map((u) => u.creditsTenths)).toEqual([10]);
    // Paging by sequence number.
    const page = (await api('get', `/orgs/${org}/runs/${run.id}/logs?after_seq=2&limit=2`)).body;
    expect(page.lines.map((l: { seq: number }) => l.seq)).toEqual([3, 4]);
    expect(page.finished).toBe(true);
    await api('delete', `/orgs/${org}/projects/analytics/secrets/FAKE_MELTANO_PRINT_ENV`).expect(
      204,
    );
  });

  it('keeps Meltano state between runs of a deployment, and lets users read, set and clear it', async () => {
    // `meltano run load` in environment prod: Meltano's id is <env>:<extractor>-to-<loader>.
    const id = encodeURIComponent('prod:tap-fake-to-target-fake');
    // Earlier runs of this file wrote it: start from no state.
    await api('delete', `${dep}/state/${id}`);
    const a = await finished(
      (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body.id,
    );
    expect(a.status).toBe('succeeded');
    expect(await logText(a.id)).toContain('Meltano state: kept by meltano-cloud');
    const b = await finished(
      (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body.id,
    );
    expect(await logText(b.id)).toContain(
      'Resuming from bookmark 1 (prod:tap-fake-to-target-fake)',
    );
    const states = (await api('get', `${dep}/state`)).body.results;
    expect(states.map((s: { state_id: string }) => s.state_id)).toContain(
      'prod:tap-fake-to-target-fake',
    );
    // Meltano's own state document: completed and partial state.
    expect((await api('get', `${dep}/state/${id}`)).body.value).toEqual({
      completed: { singer_state: { bookmark: 2 } },
      partial: {},
    });
    await api('put', `${dep}/state/${id}`, {
      value: { completed: { singer_state: { bookmark: 40 } }, partial: {} },
    }).expect(200);
    const c = await finished(
      (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body.id,
    );
    expect(await logText(c.id)).toContain('Resuming from bookmark 40');
    await api('delete', `${dep}/state/${id}`).expect(204);
    await api('get', `${dep}/state/${id}`).expect(404);
  });

  it('installs plugins once per deployed commit: later runs skip meltano install, and it is never billed', async () => {
    const installLog = path.join(workdir, 'installs.jsonl');
    await setSecret('FAKE_MELTANO_INSTALL_LOG', installLog);
    const run = await finished(
      (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body.id,
    );
    expect(run).toMatchObject({ status: 'succeeded', plugin_install: 'cached' });
    // Earlier runs of this commit installed the plugins: this one did not run meltano install.
    expect(existsSync(installLog)).toBe(false);
    const text = await logText(run.id);
    expect(text).toMatch(
      /plugins already installed for this deployment .*: meltano install skipped/,
    );
    expect(text).not.toContain('Installing 2 plugins...');
    const install = run.steps.find((step: { name: string }) => step.name === 'install');
    expect(install).toMatchObject({
      note: 'install skipped (cached): an earlier run of this deployment installed the same plugins',
      billed: false,
    });
    // Billed runtime is the pipeline step only.
    const ledger = await t.prisma.usageLedgerEntry.findUnique({ where: { runId: run.id } });
    expect(ledger?.billedSeconds).toBe(
      Math.ceil((Date.parse(run.finished_at) - Date.parse(run.pipeline_started_at)) / 1000),
    );
    await api('delete', `/orgs/${org}/projects/analytics/secrets/FAKE_MELTANO_INSTALL_LOG`).expect(
      204,
    );
  });

  it('a failing pipeline ends failed with its exit code and a reason', async () => {
    await setSecret('FAKE_MELTANO_EXIT', '3');
    const run = await finished(
      (await api('post', `${dep}/runs`, { schedule: 'hourly-load' }).expect(201)).body.id,
    );
    expect(run).toMatchObject({
      status: 'failed',
      exit_code: 3,
      status_reason: 'meltano exited with code 3',
    });
    expect(await logText(run.id)).toContain('Run failed with exit code 3');
    await api('delete', `/orgs/${org}/projects/analytics/secrets/FAKE_MELTANO_EXIT`).expect(204);
  });

  it('honours Idempotency-Key: the same key returns the same run', async () => {
    const first = await api('post', `${dep}/runs`, { job: 'load' })
      .set('idempotency-key', 'nightly-2026-11-21')
      .expect(201);
    const again = await api('post', `${dep}/runs`, { job: 'load' })
      .set('idempotency-key', 'nightly-2026-11-21')
      .expect(200);
    expect(again.body.id).toBe(first.body.id);
    await finished(first.body.id);
  });

  it('cancels a running run: the process group is stopped and the run ends cancelled', async () => {
    await setSecret('FAKE_MELTANO_HANG', '1');
    const created = (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body;
    const pid = await waitFor(
      async () => /FAKE_MELTANO_CHILD_PID=(\d+)/.exec(await logText(created.id))?.[1],
      20_000,
      'pipeline to start',
    );
    expect((await api('get', `/orgs/${org}/runs/${created.id}`)).body.status).toBe('running');
    await api('post', `/orgs/${org}/runs/${created.id}/cancel`).expect(201);
    const run = await finished(created.id);
    expect(run.status).toBe('cancelled');
    expect(isAlive(Number(pid))).toBe(false);
    await api('post', `/orgs/${org}/runs/${created.id}/cancel`).expect(409);
  });

  it('times out a run that exceeds the deployment timeout', async () => {
    await api('patch', dep, { run_timeout_seconds: 60 }).expect(200);
    const created = (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body;
    expect(created.timeout_seconds).toBe(60);
    // Shorten this one run's timeout so the test stays fast; the executor enforces whatever the run says.
    await t.prisma.run.update({ where: { id: created.id }, data: { timeoutSeconds: 2 } });
    const run = await finished(created.id);
    expect(run.status).toBe('timed_out');
    expect(run.status_reason).toMatch(/timed out/);
  });

  it('holds runs over the deployment limit in queued, saying why, and starts them when a slot frees', async () => {
    const first = (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body;
    await waitFor(
      async () => (await api('get', `/orgs/${org}/runs/${first.id}`)).body.status === 'running',
      20_000,
      'first run running',
    );
    const second = (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body;
    const waiting = await waitFor(
      async () => {
        const r = (await api('get', `/orgs/${org}/runs/${second.id}`)).body;
        return r.waiting_reason ? r : null;
      },
      20_000,
      'second run to wait',
    );
    expect(waiting.status).toBe('queued');
    expect(waiting.waiting_reason).toMatch(/limit of 1 concurrent run/);
    await api('post', `/orgs/${org}/runs/${first.id}/cancel`).expect(201);
    await waitFor(
      async () => (await api('get', `/orgs/${org}/runs/${second.id}`)).body.status === 'running',
      20_000,
      'second run to start',
    );
    await api('post', `/orgs/${org}/runs/${second.id}/cancel`).expect(201);
    await finished(second.id);
    await api('delete', `/orgs/${org}/projects/analytics/secrets/FAKE_MELTANO_HANG`).expect(204);
  });

  it('follows a run’s log live over Server-Sent Events until it ends', async () => {
    await setSecret('FAKE_MELTANO_DELAY_MS', '50');
    const created = (await api('post', `${dep}/runs`, { job: 'load' }).expect(201)).body;
    const res = await api('get', `/orgs/${org}/runs/${created.id}/logs/stream`)
      .buffer(true)
      .parse((response, callback) => {
        let data = '';
        response.on('data', (chunk: Buffer) => (data += chunk.toString()));
        response.on('end', () => callback(null, data));
      });
    expect(res.headers['content-type']).toContain('text/event-stream');
    const text = res.body as string;
    expect(text).toMatch(/event: line\ndata: .*MELTANO_ENVIRONMENT=prod/);
    expect(text).toMatch(/event: end\ndata: .*"status":"succeeded"/);
    await api('delete', `/orgs/${org}/projects/analytics/secrets/FAKE_MELTANO_DELAY_MS`).expect(
      204,
    );
  });

  it('redeploys on a new commit and keeps enabled flags; removed schedules are archived with their runs', async () => {
    await api('patch', `${dep}/schedules/daily-load`, { enabled: true }).expect(200);
    const changed = sampleMeltanoYml
      .replace("interval: '@daily'", "interval: '30 2 * * *'")
      .replace(/ {2}- name: hourly-load[\s\S]*?job: load\n/, '');
    const second = repo.commit({ 'data/meltano.yml': changed });
    await api('post', `${dep}/deploys`).expect(201);
    await waitFor(
      async () => (await api('get', dep)).body.deployed_commit_sha === second,
      20_000,
      'redeploy',
    );
    const daily = (await api('get', `${dep}/schedules/daily-load`)).body;
    expect(daily).toMatchObject({ interval: '30 2 * * *', enabled: true });
    const all = (await api('get', `${dep}/schedules?include_archived=true`)).body.results;
    expect(all.find((s: { name: string }) => s.name === 'hourly-load')).toMatchObject({
      archived: true,
      enabled: false,
    });
    const history = (await api('get', `/orgs/${org}/runs?schedule=hourly-load`)).body.results;
    expect(history.length).toBeGreaterThan(0);
  });

  it('fails a deploy with a message a user can act on', async () => {
    await api('patch', dep, { environment: 'staging' }).expect(200);
    const deploy = await waitFor(
      async () => {
        const d = (await api('get', `${dep}/deploys`)).body.results[0];
        return d.status === 'failed' ? d : null;
      },
      20_000,
      'failed deploy',
    );
    expect(deploy.message).toBe(
      "Environment 'staging' is not defined in meltano.yml (known: dev, prod)",
    );
    await api('patch', dep, { environment: 'prod' }).expect(200);
    await waitFor(
      async () => (await api('get', `${dep}/deploys`)).body.results[0].status === 'succeeded',
      20_000,
      'good deploy',
    );
  });

  it('deploys and runs a project that defines no environments, with no environment', async () => {
    const bare = new LocalGitRepo();
    try {
      bare.commit({
        'meltano.yml': [
          'version: 1',
          'jobs:',
          '  - {name: load-job, tasks: [tap-fake target-fake]}',
          'schedules:',
          '  - {name: zz-el, interval: "0 6 * * *", extractor: tap-fake, loader: target-fake,',
          '     env: {ZED: "1", ALPHA: "2"}}',
          '  - {name: aa-job, interval: "@daily", job: load-job}',
          '  - {name: mm-last, interval: "0 0 L * *", extractor: tap-fake, loader: target-fake}',
          '',
        ].join('\n'),
      });
      await api('post', `/orgs/${org}/projects`, { name: 'No Envs', repository: bare.url }).expect(
        201,
      );
      const created = await api('post', `/orgs/${org}/projects/no-envs/deployments`, {
        name: 'main',
        branch: 'main',
      }).expect(201);
      expect(created.body.environment).toBeNull();
      const noEnv = `/orgs/${org}/projects/no-envs/deployments/main`;
      await waitFor(
        async () => (await api('get', noEnv)).body.status === 'ready',
        20_000,
        'deploy without environment',
      );
      // Listed as written (not sorted), env keys in written order, page by page.
      const first = (await api('get', `${noEnv}/schedules?page_size=2`)).body;
      const second = (
        await api(
          'get',
          `${noEnv}/schedules?page_size=2&page_token=${first.pagination.next_page_token}`,
        )
      ).body;
      const schedules = [...first.results, ...second.results] as {
        name: string;
        env: Record<string, string>;
        valid: boolean;
        invalid_reason: string | null;
        cron: string | null;
      }[];
      expect(schedules.map((s) => s.name)).toEqual(['zz-el', 'aa-job', 'mm-last']);
      expect(Object.keys(schedules[0]!.env)).toEqual(['ZED', 'ALPHA']);
      // meltano run needs an environment: a job schedule cannot run here, and says why.
      expect(schedules[1]).toMatchObject({ valid: false });
      expect(schedules[1]!.invalid_reason).toContain(
        "Schedule 'aa-job' (meltano.yml line 7): it runs a job, and Meltano runs jobs",
      );
      expect(schedules[2]).toMatchObject({ valid: true, cron: '0 0 L * *' });

      const run = await finished(
        (await api('post', `${noEnv}/runs`, { schedule: 'zz-el' }).expect(201)).body.id,
      );
      expect(run).toMatchObject({ status: 'succeeded', exit_code: 0 });
      const text = await logText(run.id);
      expect(text).toContain('meltano schedule run zz-el (no environment)');
      expect(text).toMatch(/^MELTANO_ENVIRONMENT=$/m);
    } finally {
      bare.remove();
    }
  });
});
