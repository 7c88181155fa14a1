import type {
  ExecutionCallbacks,
  LogLine,
  RunPhase,
  RunSpec,
} from '../../../src/runs/executors/executor.js';
import type { KubernetesSettings } from '../../../src/runs/executors/kubernetes/manifests.js';

export const CLONE_TOKEN = 'ghs_cloneTokenThatMustNeverLeak123';

export const settings: KubernetesSettings = {
  namespace: 'meltano-runs',
  meltanoImage: 'meltano/meltano:v3.7.4-python3.12',
  gitImage: 'alpine/git:2.47.2',
  cpu: '1',
  memory: '2Gi',
  jobTtlSeconds: 3600,
};

let counter = 0;

/** A run spec with a fresh run id (so runs of one test file never share a Job). */
export function makeSpec(overrides: Partial<RunSpec> = {}): RunSpec {
  counter += 1;
  const suffix = counter.toString(16).padStart(12, '0');
  return {
    runId: `8c1f3a52-0d4e-4b7a-9f61-${suffix}`,
    organizationId: '0b9e5c1e-7f7e-4a39-8a43-2b1f6f0d9a11',
    projectId: '5f0c7b9e-3a1d-4c5e-9b7f-6e2d8a4c1b22',
    deploymentId: 'a3e4b5c6-d7e8-4f90-8123-456789abcdef',
    repository: {
      cloneUrl: 'https://github.com/acme/analytics.git',
      commitSha: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
      branch: 'main',
      token: CLONE_TOKEN,
    },
    rootPath: 'meltano',
    environment: 'prod',
    command: { kind: 'schedule', name: 'daily-github' },
    env: { TAP_GITHUB_AUTH_TOKEN: 'pipeline-secret-value', TARGET_POSTGRES_PASSWORD: 'hunter2' },
    files: [
      {
        envVar: 'GOOGLE_APPLICATION_CREDENTIALS',
        fileName: 'gcp.json',
        content: '{"type":"service_account"}',
      },
    ],
    timeoutSeconds: 3600,
    ...overrides,
  };
}

/** Callbacks that remember everything, in one ordered timeline. */
export function recorder() {
  const logs: LogLine[] = [];
  const phases: { phase: RunPhase; at: Date }[] = [];
  const timeline: string[] = [];
  const callbacks: ExecutionCallbacks = {
    onLog(line) {
      logs.push(line);
      timeline.push(`log:${line.line}`);
    },
    onPhase(phase, at) {
      phases.push({ phase, at });
      timeline.push(`phase:${phase}`);
    },
  };
  return { callbacks, logs, phases, timeline, lines: () => logs.map((log) => log.line) };
}

/** Polls `condition` every 5 ms; fails the test after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
