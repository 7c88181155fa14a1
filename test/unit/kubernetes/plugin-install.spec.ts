import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { V1Job } from '@kubernetes/client-node';
import { withInstallPhases } from '../../../src/runs/executors/kubernetes/install-phases.js';
import { buildRunJob } from '../../../src/runs/executors/kubernetes/manifests.js';
import {
  INSTALL_READY_MARKER,
  INSTALL_STARTED_MARKER,
  PLUGIN_CACHE_DIR,
} from '../../../src/runs/executors/kubernetes/plugin-install.js';
import { makeSpec, recorder, settings } from './fixtures.js';

const validate = (job: V1Job) => new Job(job as ConstructorParameters<typeof Job>[0]).validate();
const podOf = (job: V1Job) => job.spec!.template.spec!;
const mainOf = (job: V1Job) => podOf(job).containers[0]!;
const withCache = { ...settings, pluginCacheClaim: 'meltano-plugin-cache' };

describe('Kubernetes runs: where plugins come from', () => {
  it('runs a deployment’s own image without meltano install', () => {
    const image = 'ghcr.io/acme/analytics-meltano:2026.11.30@sha256:' + 'a'.repeat(64);
    for (const s of [settings, withCache]) {
      const job = buildRunJob(makeSpec({ pluginImage: image }), s);
      expect(() => validate(job)).not.toThrow();
      expect(mainOf(job).image).toBe(image);
      expect(mainOf(job).command).toEqual([
        '/bin/sh',
        '-c',
        "exec meltano schedule run 'daily-github'",
      ]);
      // The image has the plugins: no cache volume either.
      expect(podOf(job).volumes!.map((v) => v.name)).not.toContain('plugin-cache');
      // The clone still uses the git image.
      expect(podOf(job).initContainers![0]!.image).toBe(settings.gitImage);
    }
  });

  it('mounts the plugin cache volume when one is configured, and only then', () => {
    const spec = makeSpec();
    const job = buildRunJob(spec, withCache);
    expect(() => validate(job)).not.toThrow();
    expect(podOf(job).volumes).toContainEqual({
      name: 'plugin-cache',
      persistentVolumeClaim: { claimName: 'meltano-plugin-cache' },
    });
    expect(mainOf(job).volumeMounts).toContainEqual({
      name: 'plugin-cache',
      mountPath: PLUGIN_CACHE_DIR,
    });
    // Only the main container installs; the clone never sees the cache.
    expect(podOf(job).initContainers![0]!.volumeMounts!.map((m) => m.name)).not.toContain(
      'plugin-cache',
    );
    expect(mainOf(job).env).toEqual(
      expect.arrayContaining([
        { name: 'MC_PLUGIN_CACHE', value: PLUGIN_CACHE_DIR },
        { name: 'MC_DEPLOYMENT_ID', value: spec.deploymentId },
        { name: 'MC_ROOT_PATH', value: 'meltano' },
        { name: 'MC_PRUNE_MINUTES', value: '65' },
      ]),
    );
    expect(mainOf(job).image).toBe(settings.meltanoImage);

    const plain = buildRunJob(makeSpec(), settings);
    expect(podOf(plain).volumes!.map((v) => v.name)).not.toContain('plugin-cache');
    expect(mainOf(plain).env!.map((e) => e.name)).not.toContain('MC_PLUGIN_CACHE');
  });
});

/**
 * The main container's script, run for real with /bin/sh, the stand-in meltano
 * and this machine's python3: "Pods" of one deployment share a cache folder as
 * they would share the volume.
 */
describe('the plugin cache script of the main container', () => {
  let root: string;
  let cacheDir: string;
  let installLog: string;
  let pods = 0;
  const meltanoYml = `version: 1
include_paths: ['./extra/*.meltano.yml']
schedules:
  - name: daily-github
    interval: '@daily'
    job: load
`;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mc-k8s-plugins-'));
    cacheDir = join(root, 'cache');
    installLog = join(root, 'installs.jsonl');
    await mkdir(cacheDir);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const installs = () =>
    existsSync(installLog) ? readFileSync(installLog, 'utf8').trim().split('\n') : [];

  /** A checkout as the clone container leaves it: repo/meltano/meltano.yml + files. */
  async function checkout(files: Record<string, string> = {}): Promise<string> {
    pods += 1;
    const repo = join(root, `pod-${pods}`, 'repo');
    const all = {
      'meltano/meltano.yml': meltanoYml,
      'meltano/extra/taps.meltano.yml': 'plugins: {}\n',
      ...files,
    };
    for (const [file, content] of Object.entries(all)) {
      await mkdir(dirname(join(repo, file)), { recursive: true });
      await writeFile(join(repo, file), content);
    }
    await mkdir(join(repo, '.git'));
    return repo;
  }

  function runPod(repo: string, env: Record<string, string> = {}) {
    const job = buildRunJob(makeSpec({ timeoutSeconds: 60 }), withCache);
    const main = mainOf(job);
    const fromManifest = Object.fromEntries(
      main.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
    );
    const result = spawnSync(main.command![0]!, main.command!.slice(1), {
      cwd: join(repo, 'meltano'),
      encoding: 'utf8',
      env: {
        ...fromManifest,
        // The volume and the checkout are elsewhere on this machine than in a Pod.
        MC_PLUGIN_CACHE: cacheDir,
        MC_REPO_DIR: repo,
        HOME: root,
        PATH: [
          resolve('test/fixtures/bin'),
          dirname(process.execPath),
          process.env.PATH ?? '/usr/bin:/bin',
        ].join(delimiter),
        FAKE_MELTANO_INSTALL_LOG: installLog,
        ...env,
      },
    });
    return { ...result, lines: result.stdout.split('\n').filter(Boolean) };
  }

  const entries = async () =>
    (await readdir(join(cacheDir, makeSpec().deploymentId))).filter((n) =>
      /^[0-9a-f]{32}$/.test(n),
    );

  it('installs into the volume on the first run and links the venvs on the next', async () => {
    const first = runPod(await checkout());
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.lines[0]).toBe(INSTALL_STARTED_MARKER);
    expect(first.lines).toContain(`${INSTALL_READY_MARKER} (installed)`);
    expect(first.lines.at(-1)).toBe('Run completed');
    expect(installs()).toHaveLength(1);

    const second = runPod(await checkout());
    expect(second.status).toBe(0);
    expect(second.lines).toContain(`${INSTALL_READY_MARKER} (cached)`);
    expect(second.lines).not.toContain('Installing 2 plugins...');
    // The pipeline ran with the cached venvs (the stand-in refuses missing or moved ones).
    expect(second.lines.at(-1)).toBe('Run completed');
    expect(installs()).toHaveLength(1);
    expect(await entries()).toHaveLength(1);
  });

  it('gives cached runs the lock files their install wrote', async () => {
    expect(runPod(await checkout(), { FAKE_MELTANO_AUTOLOCK: '1' }).status).toBe(0);
    const cached = runPod(await checkout(), { FAKE_MELTANO_AUTOLOCK: '1' });
    expect(cached.stderr).toBe('');
    expect(cached.lines.at(-1)).toBe('Run completed');
    expect(installs()).toHaveLength(1);
  });

  it('reinstalls when a lock file, an included file or the Meltano version changes', async () => {
    runPod(await checkout());
    runPod(await checkout({ 'meltano/plugins/extractors/tap-github--meltanolabs.lock': '{}' }));
    runPod(await checkout({ 'meltano/extra/taps.meltano.yml': 'plugins: {extractors: []}\n' }));
    runPod(await checkout(), { FAKE_MELTANO_VERSION: '3.8.0' });
    expect(installs()).toHaveLength(4);
    // A file no include pattern matches does not change the key.
    runPod(await checkout({ 'meltano/transform/models/orders.yml': 'version: 2\n' }));
    expect(installs()).toHaveLength(4);
  });

  it('removes superseded installs once unused for longer than a run may last', async () => {
    runPod(await checkout());
    const [old] = await entries();
    const longAgo = new Date(Date.now() - 3 * 3600_000);
    await utimes(join(cacheDir, makeSpec().deploymentId, old!, 'last-used'), longAgo, longAgo);
    runPod(await checkout({ 'meltano/plugins/loaders/target-x.lock': '{}' }));
    const after = await entries();
    expect(after).toHaveLength(1);
    expect(after).not.toContain(old);
  });

  it('installs for the run only while another Pod installs the same key; a failed install caches nothing', async () => {
    runPod(await checkout());
    const [key] = await entries();
    const dep = join(cacheDir, makeSpec().deploymentId);
    await rm(join(dep, key!), { recursive: true });
    await mkdir(join(dep, `${key}.lock`));
    const busy = runPod(await checkout());
    expect(busy.status).toBe(0);
    expect(busy.lines).toContain(
      '[meltano-cloud] another run is installing the same plugins: installing them for this run only',
    );
    expect(await entries()).toEqual([]);
    await rm(join(dep, `${key}.lock`), { recursive: true });

    const failing = runPod(await checkout(), { FAKE_MELTANO_FAIL_INSTALL: '1' });
    expect(failing.status).not.toBe(0);
    expect(failing.lines).not.toContain(expect.stringContaining(INSTALL_READY_MARKER));
    expect(await readdir(dep)).toEqual([]);
  });

  it('copies the checkout without .git into the cache', async () => {
    const repo = await checkout();
    await cp(join(repo, 'meltano', 'meltano.yml'), join(repo, '.git', 'HEAD'));
    runPod(repo);
    const [key] = await entries();
    const cached = join(cacheDir, makeSpec().deploymentId, key!, 'repo');
    expect(existsSync(join(cached, 'meltano', 'meltano.yml'))).toBe(true);
    expect(existsSync(join(cached, '.git'))).toBe(false);
  });
});

describe('the install step of Kubernetes runs in the timeline', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s));
  const log = (line: string, s: number) => ({ stream: 'stdout' as const, line, timestamp: at(s) });

  it('is read from the marker lines; pipeline start is reported again once plugins are ready', () => {
    const rec = recorder();
    const details: unknown[] = [];
    const inner = rec.callbacks;
    const callbacks = withInstallPhases(makeSpec(), {
      onLog: (l) => inner.onLog(l),
      onPhase: (phase, when, detail) => {
        details.push(detail);
        inner.onPhase(phase, when);
      },
    });
    callbacks.onPhase('pipeline_started', at(0));
    callbacks.onLog(log(INSTALL_STARTED_MARKER, 1));
    callbacks.onLog(log('Installing 2 plugins...', 5));
    callbacks.onLog(log(`${INSTALL_READY_MARKER} (cached)`, 9));
    // The pipeline's own output cannot move the step.
    callbacks.onLog(log(`${INSTALL_READY_MARKER} (installed)`, 30));
    callbacks.onLog(log(INSTALL_STARTED_MARKER, 31));
    expect(rec.phases).toEqual([
      { phase: 'pipeline_started', at: at(0) },
      { phase: 'install_started', at: at(1) },
      { phase: 'install_finished', at: at(9) },
      { phase: 'pipeline_started', at: at(9) },
    ]);
    expect(details[2]).toEqual({ install: 'cached' });
    expect(rec.lines()).toHaveLength(5);
  });

  it('records the install as skipped (image) for a deployment’s own image', () => {
    const phases: [string, unknown][] = [];
    const callbacks = withInstallPhases(makeSpec({ pluginImage: 'acme/meltano:1' }), {
      onLog: () => undefined,
      onPhase: (phase, _when, detail) => phases.push([phase, detail]),
    });
    callbacks.onPhase('process_created', at(0));
    callbacks.onPhase('pipeline_started', at(3));
    expect(phases).toEqual([
      ['process_created', undefined],
      ['install_started', undefined],
      ['install_finished', { install: 'image' }],
      ['pipeline_started', undefined],
    ]);
  });
});
