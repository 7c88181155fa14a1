import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { runDirName, runIdOfDirName } from '../../../src/runs/executors/local/local-executor.js';
import { RUN_DIR_ENV } from '../../../src/runs/executors/local/process-group.js';
import {
  dirOf,
  isAlive,
  recorder,
  waitUntil,
  withFixture,
  type Fixture,
  type Recorder,
} from './helpers.js';

let fx: Fixture;
withFixture((fixture) => (fx = fixture));

/** Waits until the hanging fake meltano has started its child; returns both pids. */
async function hanging(rec: Recorder): Promise<{ meltano: number; child: number }> {
  const child = Number((await rec.waitForLine(/^FAKE_MELTANO_CHILD_PID=(\d+)$/))[1]);
  const meltano = Number((await rec.waitForLine(/^FAKE_MELTANO_PID=(\d+)$/))[1]);
  expect(isAlive(meltano)).toBe(true);
  expect(isAlive(child)).toBe(true);
  return { meltano, child };
}

describe('LocalExecutor: cancel and timeout', () => {
  it('cancel kills the whole process group and reports cancelled', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(
      fx.spec({
        env: { FAKE_MELTANO_HANG: '1' },
        files: [{ envVar: 'KEY_FILE', fileName: 'key.pem', content: 'PRIVATE' }],
      }),
      rec.callbacks,
    );
    const pids = await hanging(rec);
    const dir = dirOf(handle.ref);
    // The secret file is private while the run goes on.
    expect((await stat(join(dir, 'secrets', 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);

    await handle.cancel();

    expect(await handle.outcome).toEqual({
      status: 'cancelled',
      exitCode: null,
      reason: 'cancelled',
    });
    expect(isAlive(pids.meltano)).toBe(false);
    expect(isAlive(pids.child)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace delay', async () => {
    const rec = recorder();
    const handle = await fx
      .executor({ killGraceMs: 300 })
      .start(
        fx.spec({ env: { FAKE_MELTANO_HANG: '1', FAKE_MELTANO_IGNORE_TERM: '1' } }),
        rec.callbacks,
      );
    const pids = await hanging(rec);
    const startedAt = Date.now();
    await handle.cancel();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(await handle.outcome).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(rec.lines()).toContain('Received SIGTERM, ignoring it');
    expect(isAlive(pids.meltano)).toBe(false);
    expect(isAlive(pids.child)).toBe(false);
  });

  it('cancel before any process started skips every step', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(fx.spec(), rec.callbacks);
    await handle.cancel();
    expect(await handle.outcome).toEqual({
      status: 'cancelled',
      exitCode: null,
      reason: 'cancelled',
    });
    expect(rec.lines().some((line) => line.startsWith('MELTANO_ENVIRONMENT='))).toBe(false);
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('cancel after the end changes nothing', async () => {
    const handle = await fx.executor().start(fx.spec(), recorder().callbacks);
    expect((await handle.outcome).status).toBe('succeeded');
    await handle.cancel();
    expect((await handle.outcome).status).toBe('succeeded');
  });

  it('kills the group and reports timed_out after timeoutSeconds', async () => {
    const rec = recorder();
    const startedAt = Date.now();
    const handle = await fx
      .executor()
      // Long enough for clone, `meltano --version` and install to reach the hang on a loaded machine.
      .start(fx.spec({ timeoutSeconds: 3, env: { FAKE_MELTANO_HANG: '1' } }), rec.callbacks);
    const pids = await hanging(rec);
    expect(await handle.outcome).toEqual({
      status: 'timed_out',
      exitCode: null,
      reason: 'timed out after 3 s',
    });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2990);
    expect(isAlive(pids.meltano)).toBe(false);
    expect(isAlive(pids.child)).toBe(false);
    expect(await readdir(fx.workRoot)).toEqual([]);
  });
});

describe('LocalExecutor: reattach', () => {
  it('kills what a dead worker left running, removes its directory and returns null', async () => {
    const rec = recorder();
    const spec = fx.spec({ env: { FAKE_MELTANO_HANG: '1' } });
    // The first executor plays the dead worker: the restarted one only has the ref.
    const handle = await fx.executor().start(spec, rec.callbacks);
    const pids = await hanging(rec);
    const dir = dirOf(handle.ref);
    const restarted = fx.executor();

    // Refs of another machine, or not naming one of our run directories, are left alone.
    expect(await restarted.reattach(`other-host:${dir}`, spec, recorder().callbacks)).toBeNull();
    expect(
      await restarted.reattach(`${hostname()}:${fx.root}`, spec, recorder().callbacks),
    ).toBeNull();
    expect(await restarted.reattach('garbage', spec, recorder().callbacks)).toBeNull();
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(fx.root)).toBe(true);
    expect(isAlive(pids.meltano)).toBe(true);

    expect(await restarted.reattach(handle.ref, spec, recorder().callbacks)).toBeNull();
    expect(isAlive(pids.meltano)).toBe(false);
    expect(isAlive(pids.child)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    // The original handle sees its pipeline killed from outside.
    expect(await handle.outcome).toEqual({
      status: 'failed',
      exitCode: null,
      reason: 'meltano was killed by signal SIGTERM',
    });
  });
});

describe('LocalExecutor: cleanup', () => {
  /** A detached process (its own group) as a dead worker's run would leave behind. */
  function leftover(cwd: string, env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    return child.pid!;
  }

  it('removes the directories of runs that are not active, killing their groups', async () => {
    const workRoot = join(fx.root, 'cleanup-runs');
    const executor = fx.executor({ workRoot, killGraceMs: 300 });
    const make = async (name: string) => {
      const dir = join(workRoot, name);
      await mkdir(join(dir, 'repo'), { recursive: true });
      return dir;
    };
    const activeDir = await make('run-active-0000aaaa');
    const doneDir = await make('run-done-0000bbbb');
    const staleDir = await make('run-stale-0000cccc');
    await make('run-unknown-0000dddd');
    await make('other');
    await writeFile(join(workRoot, 'run-file-0000eeee'), '');

    const ours = leftover(join(doneDir, 'repo'), { [RUN_DIR_ENV]: doneDir });
    await writeFile(join(doneDir, 'state.json'), JSON.stringify({ host: hostname(), pgid: ours }));
    // The stale state file names a group that is not the run's any more (pid reused).
    const stranger = leftover(fx.root);
    await writeFile(
      join(staleDir, 'state.json'),
      JSON.stringify({ host: hostname(), pgid: stranger }),
    );
    await writeFile(
      join(activeDir, 'state.json'),
      JSON.stringify({ host: hostname(), pgid: ours }),
    );

    // And a run this executor is running now, whatever the service says.
    const rec = recorder();
    const running = await executor.start(
      fx.spec({ env: { FAKE_MELTANO_HANG: '1' } }),
      rec.callbacks,
    );
    await hanging(rec);

    try {
      const asked: string[] = [];
      await executor.cleanup(async (runId) => {
        asked.push(runId);
        if (runId === 'unknown') throw new Error('database down');
        return runId === 'active';
      });

      expect(asked.sort()).toEqual(['active', 'done', 'stale', 'unknown']);
      expect((await readdir(workRoot)).sort()).toEqual(
        [
          'other',
          'run-active-0000aaaa',
          'run-file-0000eeee',
          'run-unknown-0000dddd',
          dirOf(running.ref).slice(workRoot.length + 1),
        ].sort(),
      );
      await waitUntil(() => !isAlive(ours));
      expect(isAlive(stranger)).toBe(true);
    } finally {
      if (isAlive(stranger)) process.kill(stranger, 'SIGKILL');
      if (isAlive(ours)) process.kill(ours, 'SIGKILL');
      await running.cancel();
    }
  });

  it('does nothing without a work root', async () => {
    await expect(
      fx.executor({ workRoot: join(fx.root, 'never-made') }).cleanup(async () => false),
    ).resolves.toBeUndefined();
  });

  it('names run directories so the run id can be read back', () => {
    for (const runId of ['cm1abc', 'a-b-c', 'with/slash', 'ünïcode', '..']) {
      const name = runDirName(runId);
      expect(name).toMatch(/^run-[^/]+-[0-9a-f]{8}$/);
      expect(runIdOfDirName(name)).toBe(runId);
    }
    expect(runIdOfDirName('other')).toBeNull();
  });
});
