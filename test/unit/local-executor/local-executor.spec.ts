import { readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { dirOf, recorder, withFixture, type Fixture } from './helpers.js';

let fx: Fixture;
withFixture((fixture) => (fx = fixture));

describe('LocalExecutor: runs', () => {
  it('clones, installs and runs the schedule in the root path with the env and secret files', async () => {
    const executor = fx.executor();
    expect(executor.kind).toBe('local');
    const rec = recorder();
    const spec = fx.spec({
      environment: 'staging',
      env: {
        TAP_FAKE_PASSWORD: 's3cret-value',
        FAKE_MELTANO_LINES: '5',
        FAKE_MELTANO_PRINT_ENV: 'TAP_FAKE_PASSWORD,GOOGLE_APPLICATION_CREDENTIALS',
        FAKE_MELTANO_PRINT_FILE: 'GOOGLE_APPLICATION_CREDENTIALS',
        // The last line has no newline: it must still be flushed.
        FAKE_MELTANO_NO_FINAL_NEWLINE: '1',
      },
      files: [
        {
          envVar: 'GOOGLE_APPLICATION_CREDENTIALS',
          fileName: 'service-account.json',
          content: '{"private_key": "file-secret"}\n',
        },
      ],
    });

    const handle = await executor.start(spec, rec.callbacks);
    expect(handle.ref.startsWith(`${hostname()}:${join(fx.workRoot, 'run-run')}`)).toBe(true);
    const dir = dirOf(handle.ref);
    const outcome = await handle.outcome;

    expect(outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    const lines = rec.lines();
    const at = (text: string) => {
      const index = lines.findIndex((line) => line.includes(text));
      expect(index).toBeGreaterThanOrEqual(0);
      return index;
    };
    const order = [
      at(`[meltano-cloud] Cloning file://${fx.bareDir} at commit ${fx.commits[1]}`),
      at('[meltano-cloud] meltano install'),
      at('Installing 2 plugins...'),
      at('Installed 2/2 plugins'),
      at('[meltano-cloud] meltano schedule run second-schedule'),
      at('MELTANO_ENVIRONMENT=staging'),
      at('Extracted record 1 of 5'),
      at('Extracted record 2 of 5'),
      at('Extracted record 5 of 5'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines.at(-1)).toBe('Run completed');
    expect(lines.filter((line) => line.startsWith('MELTANO_ENVIRONMENT='))).toHaveLength(1);
    expect(lines).toContain(`cwd=${join(dir, 'repo', 'data')}`);
    expect(lines).toContain('TAP_FAKE_PASSWORD=s3cret-value');
    expect(lines).toContain(
      `GOOGLE_APPLICATION_CREDENTIALS=${join(dir, 'secrets', 'service-account.json')}`,
    );
    expect(lines).toContain('{"private_key": "file-secret"}');

    for (const log of rec.logs) expect(log.timestamp).toBeInstanceOf(Date);
    const times = rec.logs.map((log) => log.timestamp.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(rec.phases.map((p) => p.phase)).toEqual([
      'process_created',
      'install_started',
      'install_finished',
      'pipeline_started',
    ]);
    // Without a plugin cache every run installs its own plugins.
    expect(rec.phases[2]!.detail).toEqual({ install: 'installed' });
    expect(rec.phases[0]!.at.getTime()).toBeLessThanOrEqual(rec.phases[1]!.at.getTime());

    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('checks out exactly the given commit, not the branch tip (from a plain path)', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(
      fx.spec({
        repository: { cloneUrl: fx.bareDir, commitSha: fx.commits[0] },
        command: { kind: 'job', name: 'sync-job' },
        env: { FAKE_MELTANO_PRINT_FILE: 'PROJECT_FILE', PROJECT_FILE: 'meltano.yml' },
      }),
      rec.callbacks,
    );
    expect(await handle.outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    expect(rec.lines()).toContain('project_id: first-commit');
    expect(rec.lines()).toContain('[meltano-cloud] meltano run sync-job (environment prod)');
    expect(rec.lines().some((line) => line.includes('Fetching the commit alone failed'))).toBe(
      false,
    );
  });

  it('runs with no environment when the deployment has none: MELTANO_ENVIRONMENT is not set', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(
      // Even a MELTANO_ENVIRONMENT inherited from the worker's own environment is dropped.
      fx.spec({ environment: null, env: { MELTANO_ENVIRONMENT: 'leaked' } }),
      rec.callbacks,
    );
    expect(await handle.outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    expect(rec.lines()).toContain(
      '[meltano-cloud] meltano schedule run second-schedule (no environment)',
    );
    // The stand-in prints the variable as it received it: empty, so Meltano's
    // default_environment (if meltano.yml sets one) is what applies.
    expect(rec.lines()).toContain('MELTANO_ENVIRONMENT=');
  });

  it('falls back to fetching the branch when the server refuses fetching by sha', async () => {
    // Protocol v0 servers refuse unadvertised objects (as uploadpack.allowAnySHA1InWant=false).
    const executor = fx.executor({
      baseEnv: {
        ...fx.baseEnv,
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'protocol.version',
        GIT_CONFIG_VALUE_0: '0',
      },
    });
    const rec = recorder();
    const handle = await executor.start(
      fx.spec({
        repository: { commitSha: fx.commits[0] },
        command: { kind: 'schedule', name: 'first-schedule' },
        env: { FAKE_MELTANO_PRINT_FILE: 'PROJECT_FILE', PROJECT_FILE: 'meltano.yml' },
      }),
      rec.callbacks,
    );
    expect(await handle.outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    expect(rec.lines()).toContain(
      '[meltano-cloud] Fetching the commit alone failed; fetching branch main',
    );
    expect(rec.lines()).toContain('project_id: first-commit');
  });

  it('fails with the exit code when meltano exits non-zero', async () => {
    const rec = recorder();
    const handle = await fx
      .executor()
      .start(fx.spec({ env: { FAKE_MELTANO_EXIT: '3' } }), rec.callbacks);
    expect(await handle.outcome).toEqual({
      status: 'failed',
      exitCode: 3,
      reason: 'meltano exited with code 3',
    });
    const last = rec.logs.at(-1)!;
    expect(last).toMatchObject({ stream: 'stderr', line: 'Run failed with exit code 3' });
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('fails when the schedule is not in the checked-out commit', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(
      fx.spec({
        repository: { commitSha: fx.commits[0] },
        command: { kind: 'schedule', name: 'second-schedule' },
      }),
      rec.callbacks,
    );
    expect(await handle.outcome).toEqual({
      status: 'failed',
      exitCode: 1,
      reason: 'meltano exited with code 1',
    });
    expect(rec.lines()).toContain("Error: Schedule 'second-schedule' not found in meltano.yml");
  });

  it('fails naming the install when meltano install fails, without starting the pipeline', async () => {
    const rec = recorder();
    const handle = await fx
      .executor()
      .start(fx.spec({ env: { FAKE_MELTANO_FAIL_INSTALL: '1' } }), rec.callbacks);
    expect(await handle.outcome).toEqual({
      status: 'failed',
      exitCode: 1,
      reason: 'meltano install exited with code 1',
    });
    expect(rec.phases.map((p) => p.phase)).toEqual(['process_created', 'install_started']);
    expect(rec.lines().some((line) => line.startsWith('MELTANO_ENVIRONMENT='))).toBe(false);
    expect(rec.logs).toContainEqual(
      expect.objectContaining({ stream: 'stderr', line: 'Failed to install plugin(s)' }),
    );
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('fails with git’s message when the repository cannot be cloned, never showing the token', async () => {
    const token = 'ghs_FAKEtoken1234567890abcdef';
    const rec = recorder();
    const missing = `${fx.root}/repos/missing.git`;
    const handle = await fx
      .executor()
      .start(fx.spec({ repository: { cloneUrl: `file://${missing}`, token } }), rec.callbacks);
    const outcome = await handle.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(
      /^could not clone the repository: .*does not appear to be a git repository/,
    );
    expect(outcome.reason).not.toContain(token);
    for (const line of rec.lines()) expect(line).not.toContain(token);
    expect(rec.phases.map((p) => p.phase)).toEqual(['process_created']);
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('fails clearly when the commit does not exist', async () => {
    const handle = await fx
      .executor()
      .start(fx.spec({ repository: { commitSha: 'a'.repeat(40) } }), recorder().callbacks);
    const outcome = await handle.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(new RegExp(`^could not check out commit ${'a'.repeat(40)}: `));
  });

  it('rejects a root path outside the repository and a missing one', async () => {
    const rec = recorder();
    const outside = await fx.executor().start(fx.spec({ rootPath: '../outside' }), rec.callbacks);
    expect(await outside.outcome).toEqual({
      status: 'failed',
      exitCode: null,
      reason: "invalid root path '../outside'",
    });
    expect(rec.phases).toEqual([]);

    const missing = await fx.executor().start(fx.spec({ rootPath: 'nope' }), recorder().callbacks);
    expect((await missing.outcome).reason).toBe(
      `the root path 'nope' is not a folder of commit ${fx.commits[1].slice(0, 12)}`,
    );
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('says what to do when meltano cannot be found, and reports programs that cannot be started', async () => {
    const missing = join(fx.root, 'no-such-meltano');
    const rec = recorder();
    const noMeltano = await fx.executor({ meltanoBin: missing }).start(fx.spec(), rec.callbacks);
    expect(await noMeltano.outcome).toEqual({
      status: 'failed',
      exitCode: null,
      reason:
        `meltano was not found (MELTANO_BIN=${missing}): install Meltano on the worker's machine ` +
        '(`pipx install meltano`, see https://docs.meltano.com/getting-started/installation) ' +
        'or set MELTANO_BIN to the path of its meltano executable, then retry the run',
    });
    expect((await noMeltano.outcome).reason).not.toMatch(/ENOENT|spawn/);
    // Found out before anything is installed.
    expect(rec.phases.map((p) => p.phase)).toEqual(['process_created']);

    const notExecutable = join(fx.root, 'meltano-not-executable');
    await writeFile(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const cannotRun = await fx
      .executor({ meltanoBin: notExecutable })
      .start(fx.spec(), recorder().callbacks);
    expect((await cannotRun.outcome).reason).toBe(
      `meltano could not be started (MELTANO_BIN=${notExecutable} is not executable): fix its permissions or set MELTANO_BIN to a meltano executable`,
    );

    const noGit = await fx
      .executor({ gitBin: join(fx.root, 'no-such-git') })
      .start(fx.spec(), recorder().callbacks);
    expect(await noGit.outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^could not clone the repository: could not start git: .*ENOENT/,
      ),
    });
    expect(await readdir(fx.workRoot)).toEqual([]);
  });

  it('rejects secret files whose names would leave their folder', async () => {
    const handle = await fx
      .executor()
      .start(
        fx.spec({ files: [{ envVar: 'KEY_FILE', fileName: '../escape', content: 'x' }] }),
        recorder().callbacks,
      );
    expect((await handle.outcome).reason).toBe("invalid secret file name '../escape'");
  });
});
