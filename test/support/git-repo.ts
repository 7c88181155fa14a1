import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A real git repository (bare, cloned over file://) that tests commit Meltano projects to. */
export class LocalGitRepo {
  readonly root = mkdtempSync(path.join(tmpdir(), 'mc-repo-'));
  readonly bare = path.join(this.root, 'origin.git');
  private readonly work = path.join(this.root, 'work');

  constructor(readonly branch = 'main') {
    execFileSync('git', ['init', '--bare', '-q', '-b', branch, this.bare]);
    execFileSync('git', ['clone', '-q', this.bare, this.work], { stdio: 'ignore' });
    execFileSync('git', ['-C', this.work, 'checkout', '-q', '-b', branch], { stdio: 'ignore' });
  }

  get url(): string {
    return `file://${this.bare}`;
  }

  /** Commits `files` (path → content) to `branch` and pushes; returns the commit sha. */
  commit(files: Record<string, string>, message = 'update', branch = this.branch): string {
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-C', this.work, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args],
        // stderr is captured (it is in a thrown error) rather than printed: a missing branch is expected.
        { encoding: 'utf8', stdio: 'pipe' },
      );
    try {
      git('checkout', '-q', branch);
    } catch {
      git('checkout', '-q', '-b', branch);
    }
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(this.work, file)), { recursive: true });
      writeFileSync(path.join(this.work, file), content);
    }
    git('add', '-A');
    git('commit', '-q', '-m', message);
    git('push', '-q', 'origin', branch);
    return git('rev-parse', 'HEAD').trim();
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export const sampleMeltanoYml = `version: 1
default_environment: dev
project_id: test-project
environments:
  - name: dev
  - name: prod
plugins:
  extractors:
    - name: tap-fake
  loaders:
    - name: target-fake
jobs:
  - name: load
    tasks:
      - tap-fake target-fake
schedules:
  - name: daily-load
    interval: '@daily'
    job: load
  - name: hourly-load
    interval: '0 * * * *'
    job: load
  - name: prod-only
    interval: '@hourly'
    job: load
    annotations:
      meltano.cloud:
        environments: [prod]
`;

export async function waitFor<T>(
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Statuses a run ends in once its pipeline was taken up (as the API reports them). */
const ENDED = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/**
 * Waits until `GET /orgs/{org}/runs/{id}` reports a final status, and returns
 * that body. `get` sends an authenticated GET (the spec's own request helper).
 */
export const runEnded = (
  get: (url: string) => PromiseLike<{ body: { status: string } & Record<string, unknown> }>,
  orgSlug: string,
  runId: string,
  timeoutMs = 20_000,
) =>
  waitFor(
    async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each spec reads its own fields
      const run = (await get(`/orgs/${orgSlug}/runs/${runId}`)).body as any;
      return ENDED.includes(run.status as string) ? run : null;
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
