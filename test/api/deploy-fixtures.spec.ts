import { readFileSync, readdirSync, statSync } from 'node:fs';
import { MELTANO_FIXTURES } from '../support/fixture-paths.js';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import {
  linkInstallation,
  settledDeploy,
  startGitHubAppOrg,
  type GitHubAppOrg,
} from '../support/github-app.js';

/**
 * Every real-world project in test/fixtures/meltano-projects, committed
 * into a repository of the fake GitHub (at the root, or in a subfolder),
 * deployed through the worker with the GitHub App: the schedules the
 * deployment ends up with must be what expected.json says.
 */
const FIXTURES = MELTANO_FIXTURES;

interface ExpectedSchedule {
  name: string;
  interval: string | null;
  job?: string;
  extractor?: string;
  loader?: string;
  transform?: string | null;
  env_keys: string[];
}

interface Expected {
  default_environment: string | null;
  environments: string[];
  jobs: Record<string, unknown>;
  schedules: ExpectedSchedule[];
  include_paths: string[];
}

interface Fixture {
  dir: string;
  files: Record<string, Buffer>;
  expected: Expected;
  /** Schedule name → environments of its `meltano.cloud` annotation, when annotated. */
  annotated: Map<string, string[]>;
}

function walk(root: string, dir = ''): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return walk(root, relative);
    return entry.isFile() ? [relative] : [];
  });
}

/** Annotations as written in any YAML file of the fixture (none of today's fixtures has one). */
function annotations(files: Record<string, Buffer>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, contents] of Object.entries(files)) {
    if (!/\.ya?ml$/.test(name)) continue;
    for (const doc of parseAllDocuments(contents.toString('utf8'), { merge: true })) {
      const data = doc.toJS() as { schedules?: unknown } | null;
      if (!data || !Array.isArray(data.schedules)) continue;
      for (const s of data.schedules as {
        name?: unknown;
        annotations?: Record<string, { environments?: unknown }>;
      }[]) {
        const envs = s?.annotations?.['meltano.cloud']?.environments;
        if (typeof s?.name === 'string' && Array.isArray(envs)) out.set(s.name, envs.map(String));
      }
    }
  }
  return out;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((dir) => statSync(path.join(FIXTURES, dir)).isDirectory())
    .sort()
    .map((dir) => {
      const root = path.join(FIXTURES, dir);
      const files: Record<string, Buffer> = {};
      for (const file of walk(root)) {
        if (file !== 'expected.json') files[file] = readFileSync(path.join(root, file));
      }
      const expected = JSON.parse(
        readFileSync(path.join(root, 'expected.json'), 'utf8'),
      ) as Expected;
      return { dir, files, expected, annotated: annotations(files) };
    });
}

const PRESETS = new Set([
  '@once',
  '@manual',
  '@none',
  '@hourly',
  '@daily',
  '@midnight',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
]);

/** Whether the service can run the schedule as written (independently of the reader). */
function runnable(schedule: ExpectedSchedule, expected: Expected): boolean {
  const { interval } = schedule;
  const intervalOk =
    interval !== null &&
    (interval.startsWith('@')
      ? PRESETS.has(interval)
      : interval.trim().split(/\s+/).length === 5 &&
        interval
          .trim()
          .split(/\s+/)
          .every((f) => /^[\dA-Za-z*,/-]+$/.test(f)));
  const taskOk =
    schedule.job !== undefined
      ? Object.hasOwn(expected.jobs, schedule.job)
      : !!schedule.extractor && !!schedule.loader;
  return intervalOk && taskOk;
}

describe('deploying the real-world meltano.yml fixtures', () => {
  const fixtures = loadFixtures();
  // Set in beforeAll.
  let { fake, t, http, users, org } = {} as GitHubAppOrg;
  let worker: RunningWorker;
  const INSTALLATION = 7401;
  const deploys = new Map<
    string,
    { deployId: string; project: string; environment: string | null }
  >();

  const settled = (deployId: string) => settledDeploy(t.prisma, deployId, 60_000);

  beforeAll(async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(18);
    ({ fake, t, http, users, org } = await startGitHubAppOrg({
      env: { WORKER_CONCURRENCY: '6' },
    }));
    worker = await startWorker(t.config);
    // Fixtures with include_paths (and every fourth one) at the root of a repository of their
    // own; the others in subfolders of one shared repository (one commit instead of many).
    const atRoot = (f: Fixture, i: number) => f.expected.include_paths.length > 0 || i % 4 === 0;
    const placed = fixtures.map((fixture, i) =>
      atRoot(fixture, i)
        ? { fixture, repo: `fixtures/${fixture.dir}`, rootPath: '.' }
        : { fixture, repo: 'fixtures/monorepo', rootPath: `projects/${fixture.dir}` },
    );
    const repoNames = [...new Set(placed.map((p) => p.repo))];
    fake.addInstallation({
      id: INSTALLATION,
      account: { login: 'fixtures', id: 4242, type: 'Organization' },
      repositories: repoNames,
    });
    const repos = await Promise.all(
      repoNames.map(async (name) => {
        const repo = fake.addRepository(name);
        const files: Record<string, Buffer | string> = { 'README.md': `# ${name}\n` };
        for (const p of placed.filter((p) => p.repo === name)) {
          for (const [file, contents] of Object.entries(p.fixture.files)) {
            files[p.rootPath === '.' ? file : `${p.rootPath}/${file}`] = contents;
          }
        }
        await repo.commit('main', files);
        return repo;
      }),
    );
    await linkInstallation(t.prisma, org.orgId, INSTALLATION, repos, 'fixtures');
    await Promise.all(
      placed.map(async ({ fixture, repo, rootPath }, i) => {
        const project = await http
          .post(`/orgs/${org.orgSlug}/projects`)
          .set('authorization', users.admin.bearer)
          .send({ name: `f${i} ${fixture.dir}`, repository: repo, root_path: rootPath })
          .expect(201);
        // A project that defines no environments deploys with none (the field left out).
        const environment = fixture.expected.environments[0] ?? null;
        const deployment = await http
          .post(`/orgs/${org.orgSlug}/projects/${project.body.id}/deployments`)
          .set('authorization', users.admin.bearer)
          .send({ name: 'main', ...(environment ? { environment } : {}), branch: 'main' })
          .expect(201);
        expect(deployment.body.environment).toBe(environment);
        const deploy = await t.prisma.deploy.findFirstOrThrow({
          where: { deploymentId: deployment.body.id },
        });
        deploys.set(fixture.dir, { deployId: deploy.id, project: project.body.id, environment });
      }),
    );
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    await fake?.close();
  });

  it.each(fixtures.map((f) => [f.dir, f] as const))(
    '%s',
    async (_dir, fixture) => {
      const { deployId, project, environment } = deploys.get(fixture.dir)!;
      const deploy = await settled(deployId);
      expect({ status: deploy.status, message: deploy.message }).toEqual({
        status: 'succeeded',
        message: expect.any(String),
      });
      const res = await http
        .get(`/orgs/${org.orgSlug}/projects/${project}/deployments/main/schedules?page_size=250`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      const wanted = fixture.expected.schedules.filter((s) => {
        const envs = fixture.annotated.get(s.name);
        return !envs || (environment !== null && envs.includes(environment));
      });
      type Out = {
        name: string;
        interval: string | null;
        job: string | null;
        extractor: string | null;
        loader: string | null;
        transform: string | null;
        env: Record<string, unknown>;
        valid: boolean;
        invalid_reason: string | null;
        enabled: boolean;
        archived: boolean;
      };
      const got = new Map((res.body.results as Out[]).map((s) => [s.name, s]));
      // Listed in meltano.yml's merge order (main file, then included files), never sorted.
      expect([...got.keys()]).toEqual(wanted.map((s) => s.name));
      for (const want of wanted) {
        const s = got.get(want.name)!;
        expect({
          name: s.name,
          interval: s.interval,
          ...(want.job !== undefined
            ? { job: s.job }
            : { extractor: s.extractor, loader: s.loader, transform: s.transform }),
          // In written order (stored as pairs: jsonb would reorder object keys).
          env_keys: Object.keys(s.env),
        }).toEqual({
          name: want.name,
          interval: want.interval,
          ...(want.job !== undefined
            ? { job: want.job }
            : {
                extractor: want.extractor,
                loader: want.loader,
                transform: want.transform ?? null,
              }),
          env_keys: want.env_keys,
        });
        expect({ enabled: s.enabled, archived: s.archived }).toEqual({
          enabled: false,
          archived: false,
        });
        if (runnable(want, fixture.expected)) {
          expect({ name: s.name, valid: s.valid, invalid_reason: s.invalid_reason }).toEqual({
            name: s.name,
            valid: true,
            invalid_reason: null,
          });
        } else {
          expect(s.valid).toBe(false);
          // The reason names the file and line of the schedule.
          expect(s.invalid_reason).toMatch(
            new RegExp(`^Schedule '${escape(s.name)}' \\(\\S+\\.ya?ml line \\d+\\): `),
          );
        }
      }
    },
    70_000,
  );
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
