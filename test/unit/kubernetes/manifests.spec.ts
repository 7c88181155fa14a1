import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';
import {
  buildRunJob,
  buildRunSecret,
  CLONE_SCRIPT,
  runJobName,
  shellQuote,
} from '../../../src/runs/executors/kubernetes/manifests.js';
import { CLONE_TOKEN, makeSpec, settings } from './fixtures.js';

const b64 = (value: string) => Buffer.from(value).toString('base64');
const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');

describe('runJobName', () => {
  it('is deterministic, DNS-1123 and at most 63 characters', () => {
    const runId = '8C1F3A52-0D4E-4B7A-9F61-000000000001';
    expect(runJobName(runId)).toBe('mc-run-8c1f3a52-0d4e-4b7a-9f61-000000000001');
    expect(runJobName(runId)).toBe(runJobName(runId));
    const long = runJobName(`${'a'.repeat(60)}-${'b'.repeat(40)}_x`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(() => runJobName('---')).toThrow(/cannot name a Kubernetes Job/);
  });
});

describe('buildRunJob', () => {
  const spec = makeSpec();
  const job = buildRunJob(spec, settings);
  const pod = job.spec!.template.spec!;
  const clone = pod.initContainers![0]!;
  const main = pod.containers[0]!;

  it('validates against the official Job schema', () => {
    expect(() => new Job(job as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();
  });

  it('names, namespaces and labels the Job and its Pods with the run ids', () => {
    const labels = {
      'app.kubernetes.io/managed-by': 'meltano-cloud',
      'meltano.cloud/organization': spec.organizationId,
      'meltano.cloud/project': spec.projectId,
      'meltano.cloud/deployment': spec.deploymentId,
      'meltano.cloud/run': spec.runId,
    };
    expect(job.metadata).toEqual({
      name: runJobName(spec.runId),
      namespace: settings.namespace,
      labels,
    });
    expect(job.spec!.template.metadata!.labels).toEqual(labels);
  });

  it('makes one attempt, bounded by the run timeout, and lets Kubernetes delete it later', () => {
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 3600,
    });
    expect(pod.restartPolicy).toBe('Never');
  });

  it('runs locked down: non-root, no service account token, no service links, read-only root', () => {
    expect(pod).toMatchObject({ automountServiceAccountToken: false, enableServiceLinks: false });
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of [clone, main]) {
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources).toEqual({
        requests: { cpu: '1', memory: '2Gi' },
        limits: { cpu: '1', memory: '2Gi' },
      });
      const mounts = container.volumeMounts!.map((mount) => mount.mountPath);
      expect(mounts).toEqual(expect.arrayContaining(['/workspace', '/tmp', '/home/meltano']));
    }
    const scratch = pod.volumes!.filter((volume) => volume.emptyDir).map((volume) => volume.name);
    expect(scratch.sort()).toEqual(['home', 'tmp', 'workspace']);
  });

  it('clones in an init container with the token read from the run Secret', () => {
    expect(clone.image).toBe(settings.gitImage);
    expect(clone.command).toEqual(['/bin/sh', '-c', CLONE_SCRIPT]);
    expect(clone.env).toEqual(
      expect.arrayContaining([
        { name: 'MC_CLONE_URL', value: spec.repository.cloneUrl },
        { name: 'MC_COMMIT_SHA', value: spec.repository.commitSha },
        { name: 'MC_BRANCH', value: 'main' },
        {
          name: 'MC_GIT_TOKEN',
          valueFrom: { secretKeyRef: { name: runJobName(spec.runId), key: 'git-token' } },
        },
      ]),
    );
  });

  it('runs meltano in the project folder with env and files from the Secret', () => {
    const secretName = runJobName(spec.runId);
    expect(main.image).toBe(settings.meltanoImage);
    expect(main.workingDir).toBe('/workspace/repo/meltano');
    expect(main.command).toEqual([
      '/bin/sh',
      '-c',
      "echo '[meltano-cloud] plugins: install step started' && meltano install && echo '[meltano-cloud] plugins: ready (installed)' && exec meltano schedule run 'daily-github'",
    ]);
    expect(main.env).toEqual(
      expect.arrayContaining([
        { name: 'MELTANO_ENVIRONMENT', value: 'prod' },
        {
          name: 'TAP_GITHUB_AUTH_TOKEN',
          valueFrom: { secretKeyRef: { name: secretName, key: 'env.TAP_GITHUB_AUTH_TOKEN' } },
        },
        { name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/var/run/meltano-cloud/files/gcp.json' },
      ]),
    );
    // Not envFrom: the clone token and file contents must not become pipeline variables.
    expect(main.envFrom).toBeUndefined();
    expect(main.env!.some((env) => env.valueFrom?.secretKeyRef?.key === 'git-token')).toBe(false);
    expect(main.volumeMounts).toContainEqual({
      name: 'files',
      mountPath: '/var/run/meltano-cloud/files',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({
      name: 'files',
      secret: { secretName, defaultMode: 0o440, items: [{ key: 'file.0', path: 'gcp.json' }] },
    });
  });

  it('sets no MELTANO_ENVIRONMENT for a deployment without an environment', () => {
    const env = buildRunJob(makeSpec({ environment: null }), settings).spec!.template.spec!
      .containers[0]!.env!;
    expect(env.some((variable) => variable.name === 'MELTANO_ENVIRONMENT')).toBe(false);
  });

  it('holds no secret value in any form', () => {
    const text = JSON.stringify(job);
    for (const secret of [
      CLONE_TOKEN,
      'pipeline-secret-value',
      'hunter2',
      '{"type":"service_account"}',
    ]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(b64(secret));
    }
    expect(text).not.toContain(b64(`x-access-token:${CLONE_TOKEN}`));
  });

  it('uses the repository root for rootPath "." and refuses paths that leave it', () => {
    expect(
      buildRunJob(makeSpec({ rootPath: '.' }), settings).spec!.template.spec!.containers[0]!
        .workingDir,
    ).toBe('/workspace/repo');
    expect(() => buildRunJob(makeSpec({ rootPath: '../../etc' }), settings)).toThrow(
      /leaves the repository/,
    );
  });

  it('refuses unusable env names and file names', () => {
    expect(() => buildRunJob(makeSpec({ env: { 'BAD NAME': 'x' } }), settings)).toThrow(
      /environment variable/,
    );
    const files = [{ envVar: 'KEY_FILE', fileName: '../key.p8', content: 'k' }];
    expect(() => buildRunSecret(makeSpec({ files }), settings)).toThrow(/plain file name/);
  });

  it('leaves the token out when the repository needs none', () => {
    const spec = makeSpec({ repository: { ...makeSpec().repository, token: undefined } });
    const env = buildRunJob(spec, settings).spec!.template.spec!.initContainers![0]!.env!;
    expect(env.map((variable) => variable.name)).not.toContain('MC_GIT_TOKEN');
    expect(buildRunSecret(spec, settings).data!['git-token']).toBeUndefined();
  });
});

describe('buildRunSecret', () => {
  const spec = makeSpec();
  const secret = buildRunSecret(spec, settings);

  it('validates against the official Secret schema and is labelled like the Job', () => {
    expect(() =>
      new Secret(secret as ConstructorParameters<typeof Secret>[0]).validate(),
    ).not.toThrow();
    expect(secret.metadata).toEqual(buildRunJob(spec, settings).metadata);
    expect(secret.metadata!.ownerReferences).toBeUndefined();
    expect(secret.type).toBe('Opaque');
  });

  it('holds the token, the pipeline env and the files', () => {
    const data = secret.data!;
    expect(decode(data['git-token'])).toBe(CLONE_TOKEN);
    expect(decode(data['env.TAP_GITHUB_AUTH_TOKEN'])).toBe('pipeline-secret-value');
    expect(decode(data['env.TARGET_POSTGRES_PASSWORD'])).toBe('hunter2');
    expect(decode(data['file.0'])).toBe('{"type":"service_account"}');
    expect(Object.keys(data).sort()).toEqual([
      'env.TAP_GITHUB_AUTH_TOKEN',
      'env.TARGET_POSTGRES_PASSWORD',
      'file.0',
      'git-token',
    ]);
  });
});

describe('shell quoting', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-k8s-manifest-'));
    // A stand-in `meltano` that records its arguments, one per line.
    writeFileSync(
      join(dir, 'meltano'),
      `#!/bin/sh\nfor arg in "$@"; do printf '%s\\n' "$arg"; done >> "${dir}/calls"\n`,
    );
    chmodSync(join(dir, 'meltano'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runMainCommand = (command: { kind: 'schedule' | 'job'; name: string }) => {
    rmSync(join(dir, 'calls'), { force: true });
    const main = buildRunJob(makeSpec({ command }), settings).spec!.template.spec!.containers[0]!;
    const [shell, flag, script] = main.command!;
    execFileSync(shell!, [flag!, script!], { env: { PATH: `${dir}:/usr/bin:/bin` } });
    return readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean);
  };

  it('passes a schedule named it\'s "daily" as one argument', () => {
    expect(runMainCommand({ kind: 'schedule', name: `it's "daily"` })).toEqual([
      'install',
      'schedule',
      'run',
      `it's "daily"`,
    ]);
  });

  it('passes job names with shell syntax literally', () => {
    const name = 'tap-x target-y; rm -rf / $(whoami) `id`';
    expect(runMainCommand({ kind: 'job', name })).toEqual(['install', 'run', name]);
  });

  it('quotes any string', () => {
    for (const value of ['', "'", `a'b"c`, 'line\nbreak', '$HOME']) {
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(value)}`]).toString()).toBe(
        value,
      );
    }
  });
});

describe('the clone script', () => {
  let dir: string;
  let origin: string;
  let first: string;
  let tip: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd })
      .toString()
      .trim();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-k8s-clone-'));
    origin = join(dir, 'origin');
    execFileSync('git', ['init', '-q', '-b', 'main', origin]);
    writeFileSync(join(origin, 'meltano.yml'), 'version: 1\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-q', '-m', 'first');
    first = git(origin, 'rev-parse', 'HEAD');
    writeFileSync(join(origin, 'meltano.yml'), 'version: 2\n');
    git(origin, 'commit', '-q', '-am', 'second');
    tip = git(origin, 'rev-parse', 'HEAD');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cloneAt = (sha: string, target: string) =>
    spawnSync('/bin/sh', ['-c', CLONE_SCRIPT], {
      env: {
        PATH: '/usr/bin:/bin',
        HOME: dir,
        MC_REPO_DIR: join(dir, target),
        MC_CLONE_URL: `file://${origin}`,
        MC_COMMIT_SHA: sha,
        MC_BRANCH: 'main',
        MC_GIT_TOKEN: CLONE_TOKEN,
      },
    });

  it('checks out the branch tip, without printing the token', () => {
    const result = cloneAt(tip, 'tip');
    expect(result.status).toBe(0);
    expect(`${result.stdout.toString()}${result.stderr.toString()}`).not.toContain(CLONE_TOKEN);
    expect(git(join(dir, 'tip'), 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(dir, 'tip', 'meltano.yml'), 'utf8')).toBe('version: 2\n');
  });

  it('falls back to the branch for an older commit', () => {
    const result = cloneAt(first, 'older');
    expect(result.status).toBe(0);
    expect(git(join(dir, 'older'), 'rev-parse', 'HEAD')).toBe(first);
  });

  it('fails (non-zero) for a commit that does not exist', () => {
    expect(cloneAt('0'.repeat(40), 'missing').status).not.toBe(0);
  });
});

describe('per-deployment run Pod settings and managed state', () => {
  const validate = (job: ReturnType<typeof buildRunJob>) =>
    new Job(job as ConstructorParameters<typeof Job>[0]).validate();

  it("renders the deployment's requests, limits, node selector and tolerations, and validates", () => {
    const job = buildRunJob(
      makeSpec({
        pod: {
          resources: { requests: { cpu: '250m', memory: '3Gi' }, limits: { cpu: '2' } },
          nodeSelector: { 'cloud.google.com/gke-nodepool': 'etl', 'kubernetes.io/arch': 'amd64' },
          tolerations: [
            { key: 'dedicated', operator: 'Equal', value: 'etl', effect: 'NoSchedule' },
            { key: 'spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
          ],
        },
      }),
      settings,
    );
    expect(() => validate(job)).not.toThrow();
    const pod = job.spec!.template.spec!;
    expect(pod.containers[0]!.resources).toEqual({
      requests: { cpu: '250m', memory: '3Gi' },
      // memory: no limit set, so the request (above the 2Gi default) is the limit.
      limits: { cpu: '2', memory: '3Gi' },
    });
    // The clone keeps the service defaults.
    expect(pod.initContainers![0]!.resources).toEqual({
      requests: { cpu: '1', memory: '2Gi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
    expect(pod.nodeSelector).toEqual({
      'cloud.google.com/gke-nodepool': 'etl',
      'kubernetes.io/arch': 'amd64',
    });
    expect(pod.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'etl', effect: 'NoSchedule' },
      { key: 'spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
    ]);
  });

  it('without settings: the service defaults, no node selector, no tolerations', () => {
    const pod = buildRunJob(makeSpec(), settings).spec!.template.spec!;
    expect(pod.containers[0]!.resources).toEqual({
      requests: { cpu: '1', memory: '2Gi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
  });

  it('with managed state: the entrypoint syncs state around the pipeline, the token only in the Secret', () => {
    const spec = makeSpec({
      env: { MC_STATE_TOKEN: 'mcrs_secret-token', MC_STATE_API_URL: 'http://api.svc:3000' },
    });
    const job = buildRunJob(spec, settings);
    expect(() => validate(job)).not.toThrow();
    const main = job.spec!.template.spec!.containers[0]!;
    const script = main.command![2]!;
    expect(script.indexOf('download')).toBeLessThan(script.indexOf('meltano install'));
    expect(script.indexOf('meltano install')).toBeLessThan(script.indexOf('upload'));
    const env = Object.fromEntries(main.env!.map((e) => [e.name, e]));
    expect(env.MC_STATE_TOKEN!.valueFrom?.secretKeyRef?.key).toBe('env.MC_STATE_TOKEN');
    expect(env.MELTANO_STATE_BACKEND_URI!.value).toBe('file:///workspace/meltano-state');
    expect(JSON.stringify(job)).not.toContain('mcrs_secret-token');
    expect(decode(buildRunSecret(spec, settings).data!['env.MC_STATE_TOKEN'])).toBe(
      'mcrs_secret-token',
    );
    // Without managed state there is no sync, and the pipeline is PID 1 of the shell, as before.
    const plain = buildRunJob(makeSpec(), settings).spec!.template.spec!.containers[0]!
      .command![2]!;
    expect(plain).not.toContain('MC_STATE_SYNC_PY');
    expect(plain).toMatch(/&& meltano install && .* && exec meltano schedule run /);
  });
});
