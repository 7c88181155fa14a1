import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { dirOf, recorder, withFixture, type Fixture, type Recorder } from './helpers.js';

let fx: Fixture;
withFixture((fixture) => (fx = fixture));

interface InstallRecord {
  cwd: string;
  sys_dir: string;
  version: string;
}

/** Each test gets its own cache folder and install log. */
let cacheDir: string;
let installLog: string;
let testCount = 0;
beforeEach(async () => {
  testCount += 1;
  cacheDir = join(fx.root, `plugin-cache-${testCount}`);
  installLog = join(fx.root, `installs-${testCount}.jsonl`);
});

const installs = (): InstallRecord[] =>
  existsSync(installLog)
    ? readFileSync(installLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as InstallRecord)
    : [];

/** Commits `files` on main of the fixture's repository and pushes it to the bare clone. */
async function commit(files: Record<string, string>): Promise<string> {
  const work = join(fx.root, 'work');
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(work, file, '..'), { recursive: true });
    await writeFile(join(work, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
    }).trim();
  git('add', '.');
  git('commit', '-q', '-m', 'change');
  git('push', '-q', fx.bareDir, 'HEAD:main');
  return git('rev-parse', 'HEAD');
}

async function runOnce(
  overrides: Parameters<Fixture['spec']>[0] = {},
  rec: Recorder = recorder(),
): Promise<Recorder & { outcome: unknown; dir: string }> {
  const spec = fx.spec({
    ...overrides,
    env: { FAKE_MELTANO_INSTALL_LOG: installLog, ...overrides.env },
  });
  const handle = await fx.executor({ pluginCacheDir: cacheDir }).start(spec, rec.callbacks);
  const outcome = await handle.outcome;
  return { ...rec, outcome, dir: dirOf(handle.ref) };
}

const entriesOf = async (deploymentId = 'dep1') =>
  (await readdir(join(cacheDir, deploymentId))).filter((name) => /^[0-9a-f]{32}$/.test(name));

const succeeded = { status: 'succeeded', exitCode: 0, reason: null };

describe('LocalExecutor: plugins installed once per install key', () => {
  it('installs on the first run of a commit and skips meltano install on the second', async () => {
    const first = await runOnce();
    expect(first.outcome).toEqual(succeeded);
    expect(installs()).toHaveLength(1);
    // The install ran in the deployment's cache, not in the run's directory.
    expect(installs()[0]!.cwd.startsWith(join(cacheDir, 'dep1'))).toBe(true);
    expect(first.phases.map((p) => p.phase)).toEqual([
      'process_created',
      'install_started',
      'install_finished',
      'pipeline_started',
    ]);
    expect(first.lines()).toContain('Installed 2/2 plugins');
    expect(first.lines().some((l) => l.includes('plugins installed into the deployment'))).toBe(
      true,
    );

    const second = await runOnce();
    expect(second.outcome).toEqual(succeeded);
    expect(installs()).toHaveLength(1);
    expect(second.lines()).not.toContain('Installing 2 plugins...');
    expect(
      second.lines().some((l) => /plugins already installed .*: meltano install skipped/.test(l)),
    ).toBe(true);
    // The pipeline found its plugins (the stand-in fails on a missing or moved venv).
    expect(second.lines().at(-1)).toBe('Run completed');
    expect(await entriesOf()).toHaveLength(1);
    // Run directories are gone; only the cache stays.
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('reports the install step with how the plugins came to be there', async () => {
    const rec = recorder();
    await runOnce({}, rec);
    await runOnce({}, rec);
    expect(rec.phases.filter((p) => p.phase === 'install_finished').map((p) => p.detail)).toEqual([
      { install: 'installed' },
      { install: 'cached' },
    ]);
  });

  it('reinstalls when a lock file changes, and removes the superseded install', async () => {
    const before = await runOnce();
    expect(before.outcome).toEqual(succeeded);
    const [oldKey] = await entriesOf();

    const withLock = await commit({
      'data/plugins/extractors/tap-fake--meltanolabs.lock': '{"pip_url": "tap-fake==1.0.0"}\n',
    });
    const after = await runOnce({ repository: { commitSha: withLock } });
    expect(after.outcome).toEqual(succeeded);
    expect(installs()).toHaveLength(2);
    const entries = await entriesOf();
    expect(entries).toHaveLength(1);
    expect(entries[0]).not.toBe(oldKey);

    // The same lock file again: cached.
    await runOnce({ repository: { commitSha: withLock } });
    expect(installs()).toHaveLength(2);

    // A changed lock file: installed again.
    const changedLock = await commit({
      'data/plugins/extractors/tap-fake--meltanolabs.lock': '{"pip_url": "tap-fake==1.1.0"}\n',
    });
    await runOnce({ repository: { commitSha: changedLock } });
    expect(installs()).toHaveLength(3);
  });

  it('reinstalls when meltano.yml changes, or when the Meltano version does', async () => {
    await runOnce({ repository: { commitSha: fx.commits[1] } });
    await runOnce({
      repository: { commitSha: fx.commits[0] },
      command: { kind: 'schedule', name: 'first-schedule' },
    });
    expect(installs()).toHaveLength(2);
    const upgraded = await runOnce({
      repository: { commitSha: fx.commits[0] },
      command: { kind: 'schedule', name: 'first-schedule' },
      env: { FAKE_MELTANO_VERSION: '3.8.0' },
    });
    expect(upgraded.outcome).toEqual(succeeded);
    expect(installs().map((i) => i.version)).toEqual(['3.7.0', '3.7.0', '3.8.0']);
  });

  it('gives cached runs the lock files their install wrote', async () => {
    const env = { FAKE_MELTANO_AUTOLOCK: '1' };
    expect((await runOnce({ env })).outcome).toEqual(succeeded);
    const cached = await runOnce({ env });
    expect(cached.outcome).toEqual(succeeded);
    expect(installs()).toHaveLength(1);
  });

  it('installs once when two runs of the same commit start at once', async () => {
    const executor = fx.executor({ pluginCacheDir: cacheDir });
    const start = () =>
      executor.start(
        fx.spec({ env: { FAKE_MELTANO_INSTALL_LOG: installLog, FAKE_MELTANO_DELAY_MS: '30' } }),
        recorder().callbacks,
      );
    const [a, b] = await Promise.all([start(), start()]);
    expect(await Promise.all([a.outcome, b.outcome])).toEqual([succeeded, succeeded]);
    expect(installs()).toHaveLength(1);
  });

  it('keeps each deployment’s plugins apart', async () => {
    await runOnce({ deploymentId: 'dep1' });
    await runOnce({ deploymentId: 'dep2' });
    expect(installs()).toHaveLength(2);
    expect(await entriesOf('dep1')).toEqual(await entriesOf('dep2'));
  });

  it('caches nothing when the install fails, so the next run installs again', async () => {
    const failedRun = await runOnce({ env: { FAKE_MELTANO_FAIL_INSTALL: '1' } });
    expect(failedRun.outcome).toEqual({
      status: 'failed',
      exitCode: 1,
      reason: 'meltano install exited with code 1',
    });
    expect(await entriesOf()).toEqual([]);
    expect(await readdir(join(cacheDir, 'dep1'))).toEqual([]);
    expect((await runOnce()).outcome).toEqual(succeeded);
    expect(installs()).toHaveLength(2);
  });

  it('installs for the run only while another live process installs the same key, and takes over a dead one’s lock', async () => {
    await runOnce();
    const [key] = await entriesOf();
    await rm(join(cacheDir, 'dep1', key!), { recursive: true });
    const lock = join(cacheDir, 'dep1', `${key}.lock`);

    // A live process of this machine holds the lock: no waiting on it.
    await writeFile(lock, JSON.stringify({ host: hostname(), pid: process.ppid }));
    const busy = await runOnce();
    expect(busy.outcome).toEqual(succeeded);
    expect(busy.lines()).toContain(
      '[meltano-cloud] another worker is installing the same plugins: installing them for this run only',
    );
    expect(installs()).toHaveLength(2);
    expect(installs()[1]!.cwd.startsWith(busy.dir)).toBe(true);
    expect(await entriesOf()).toEqual([]);

    // The lock of a process that is gone is taken over.
    await writeFile(lock, JSON.stringify({ host: hostname(), pid: 2 ** 22 + 12345 }));
    expect((await runOnce()).outcome).toEqual(succeeded);
    expect(await entriesOf()).toEqual([key]);
    expect(existsSync(lock)).toBe(false);
    expect((await runOnce()).lines().some((l) => l.includes('meltano install skipped'))).toBe(true);
    expect(installs()).toHaveLength(3);
  });

  it('does not remove a superseded install while a run still uses it', async () => {
    const executor = fx.executor({ pluginCacheDir: cacheDir });
    const rec = recorder();
    // Installs the first commit's plugins and keeps its pipeline running.
    const hanging = await executor.start(
      fx.spec({
        repository: { commitSha: fx.commits[0] },
        command: { kind: 'schedule', name: 'first-schedule' },
        env: { FAKE_MELTANO_INSTALL_LOG: installLog, FAKE_MELTANO_HANG: '1' },
      }),
      rec.callbacks,
    );
    await rec.waitForLine(/^FAKE_MELTANO_CHILD_PID=/);
    const [oldKey] = await entriesOf();

    expect((await runOnce({ repository: { commitSha: fx.commits[1] } })).outcome).toEqual(
      succeeded,
    );
    expect((await entriesOf()).sort()).toHaveLength(2);
    expect(await entriesOf()).toContain(oldKey);

    await hanging.cancel();
    expect(await hanging.outcome).toMatchObject({ status: 'cancelled' });
    expect(await entriesOf()).not.toContain(oldKey);
    expect(await entriesOf()).toHaveLength(1);
  });
});
