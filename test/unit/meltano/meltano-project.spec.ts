import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MeltanoProject } from '../../../src/meltano/meltano-project.js';
import {
  MeltanoProjectError,
  assertEnvironmentExists,
  environmentWithoutOne,
  readMeltanoProject,
  schedulesForEnvironment,
  validateSchedules,
} from '../../../src/meltano/meltano-project.js';
import { MELTANO_FIXTURES } from '../../support/fixture-paths.js';

const FIXTURES_DIR = process.env.MELTANO_FIXTURES_DIR ?? MELTANO_FIXTURES;

const fixtureNames = fs
  .readdirSync(FIXTURES_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface ExpectedProject {
  default_environment: string | null;
  environments: string[];
  jobs: Record<string, unknown>;
  schedules: Record<string, unknown>[];
  include_paths: string[];
}

/** The project in the shape of the fixtures' expected.json. */
function asExpectedShape(project: MeltanoProject): ExpectedProject {
  return {
    default_environment: project.defaultEnvironment,
    environments: project.environments,
    jobs: project.jobs,
    schedules: project.schedules.map((schedule) =>
      schedule.job !== null
        ? {
            name: schedule.name,
            interval: schedule.interval,
            job: schedule.job,
            env_keys: Object.keys(schedule.env),
          }
        : {
            name: schedule.name,
            interval: schedule.interval,
            extractor: schedule.extractor,
            loader: schedule.loader,
            transform: schedule.transform,
            env_keys: Object.keys(schedule.env),
          },
    ),
    include_paths: project.includePaths,
  };
}

const tempDirs: string[] = [];

/** Writes `files` (path -> content) into a fresh temp dir and returns its path. */
function writeProject(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meltano-project-'));
  tempDirs.push(dir);
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
  return dir;
}

async function readError(promise: Promise<unknown>): Promise<MeltanoProjectError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MeltanoProjectError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a MeltanoProjectError');
}

afterAll(() => {
  for (const dir of tempDirs) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('readMeltanoProject on real projects', () => {
  it('finds all eighteen fixtures', () => {
    expect(fixtureNames).toHaveLength(18);
  });

  it.each(fixtureNames)('%s matches expected.json', async (fixtureName) => {
    const fixtureDir = path.join(FIXTURES_DIR, fixtureName);
    const expected = JSON.parse(
      fs.readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8'),
    ) as ExpectedProject;

    const actual = asExpectedShape(await readMeltanoProject(fixtureDir));

    // Several files matched by one pattern may merge in any order (README): compare as sets.
    expect([...actual.environments].sort()).toEqual([...expected.environments].sort());
    expect({ ...actual, environments: [] }).toEqual({ ...expected, environments: [] });
    // Our order is deterministic: main file first, then includes sorted within a pattern.
    if (!expected.include_paths.some((pattern) => /[*?[]/.test(pattern))) {
      expect(actual.environments).toEqual(expected.environments);
    }
  });

  it('reads only the files include_paths match, in pattern order', async () => {
    const squared = await readMeltanoProject(path.join(FIXTURES_DIR, 'meltano__squared'));
    expect(squared.files).toEqual([
      'meltano.yml',
      'environments/cicd.meltano.yml',
      'environments/prod.meltano.yml',
      'environments/staging.meltano.yml',
      'environments/userdev.meltano.yml',
      'extract/extractors.meltano.yml',
      'load/loaders.meltano.yml',
      'orchestrate/orchestrators.meltano.yml',
      'transform/transformers.meltano.yml',
      'utilities/utilities.meltano.yml',
      'mappers/mappers.meltano.yml',
    ]);

    const noIncludes = await readMeltanoProject(
      path.join(FIXTURES_DIR, 'finplanners__fpna-bankend-data-integration'),
    );
    expect(noIncludes.files).toEqual(['meltano.yml']);

    const withoutDotSlash = await readMeltanoProject(
      path.join(FIXTURES_DIR, 'LucasJFaust__thilha-de-meltano'),
    );
    expect(withoutDotSlash.files).toEqual([
      'meltano.yml',
      'env_config.yml',
      'plugins/extractors/extractors_config.yml',
      'plugins/loaders/loaders_config.yml',
    ]);
  });

  it('keeps ${VAR} references and CRLF files intact', async () => {
    const crlf = await readMeltanoProject(path.join(FIXTURES_DIR, 'matsonj__nba-monte-carlo'));
    expect(crlf.schedules[0]?.interval).toBe('@once');
    expect(JSON.stringify(crlf)).not.toContain('\\r');
  });

  it('marks exactly the schedules that cannot run as invalid', async () => {
    const invalidByFixture: Record<string, string[]> = {};
    for (const fixtureName of fixtureNames) {
      const project = await readMeltanoProject(path.join(FIXTURES_DIR, fixtureName));
      const invalid = validateSchedules(project).filter((result) => !result.valid);
      if (invalid.length > 0) {
        invalidByFixture[fixtureName] = invalid.map((result) => result.invalidReason ?? '');
      }
    }
    expect(Object.keys(invalidByFixture).sort()).toEqual([
      'Matatika__example-veeqo-reporting',
      'jefflyt__M2Project_Meltano_Olist',
    ]);
    expect(invalidByFixture['Matatika__example-veeqo-reporting']).toEqual([
      expect.stringMatching(
        /^Schedule 'Veeqo Pipeline' \(meltano.yml line 35\): interval '0 0 \* \* \* \*' has 6 fields: croniter reads the 6th field as seconds/,
      ),
      expect.stringMatching(
        /^Schedule 'Report Pipeline' \(meltano.yml line 38\): interval '0 0 8 \* \* \*' has 6 fields/,
      ),
    ]);
    expect(invalidByFixture['jefflyt__M2Project_Meltano_Olist']).toEqual([
      "Schedule 'daily_extract' (meltano.yml line 61): job 'tap-postgres target-bigquery' is not defined in jobs " +
        '(known: none)',
    ]);
  });

  it('resolves presets and crons of valid schedules', async () => {
    const lana = await readMeltanoProject(path.join(FIXTURES_DIR, 'GaloyMoney__lana-bank'));
    expect(validateSchedules(lana).map((result) => result.cron)).toEqual([
      '0,30 * * * *',
      '15,45 * * * *',
      '* * * * *',
      '*/10 * * * *',
      '0 0 * * *',
      '0 0 * * 0',
      '0 0 * * *',
    ]);
    const demo = await readMeltanoProject(path.join(FIXTURES_DIR, 'Darren-DSAID__meltano-demo'));
    expect(validateSchedules(demo)).toEqual([
      {
        name: 'csv-to-postgres',
        valid: true,
        invalidReason: null,
        cron: null,
        manualOnly: true,
      },
      {
        name: 'csv-to-postgres-transform',
        valid: true,
        invalidReason: null,
        cron: null,
        manualOnly: true,
      },
    ]);
  });
});

describe('readMeltanoProject merging and include_paths', () => {
  it('merges included files after meltano.yml; a later default_environment wins', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'version: 1',
        'default_environment: dev',
        'include_paths:',
        '  - ./envs/*.yml',
        '  - "orchestrate/**/*.yml"',
        'environments:',
        '  - name: dev',
        'jobs:',
        '  - name: main-job',
        '    tasks: [tap-a target-b]',
        '',
      ].join('\n'),
      'envs/b.yml': 'environments:\n  - name: staging\n',
      'envs/a.yml': 'default_environment: prod\nenvironments:\n  - name: prod\n',
      'orchestrate/jobs.yml':
        'jobs:\n  - name: nested-job\n    tasks:\n      - [tap-a, target-b]\n',
      'orchestrate/deep/er/schedules.yml': [
        'schedules:',
        '  - name: nightly',
        "    interval: '@daily'",
        '    job: nested-job',
        '',
      ].join('\n'),
      'orchestrate/ignored.yaml': 'schedules:\n  - name: decoy\n',
    });

    const project = await readMeltanoProject(dir);

    expect(project.files).toEqual([
      'meltano.yml',
      'envs/a.yml',
      'envs/b.yml',
      'orchestrate/deep/er/schedules.yml',
      'orchestrate/jobs.yml',
    ]);
    expect(project.defaultEnvironment).toBe('prod');
    expect(project.environments).toEqual(['dev', 'prod', 'staging']);
    expect(project.jobs).toEqual({
      'main-job': ['tap-a target-b'],
      'nested-job': [['tap-a', 'target-b']],
    });
    expect(project.schedules).toEqual([
      {
        name: 'nightly',
        interval: '@daily',
        job: 'nested-job',
        extractor: null,
        loader: null,
        transform: null,
        env: {},
        envEntries: [],
        environments: null,
        source: { file: 'orchestrate/deep/er/schedules.yml', line: 2 },
      },
    ]);
  });

  it('never includes meltano.yml itself or the same file twice', async () => {
    const dir = writeProject({
      'meltano.yml': 'include_paths:\n  - "*.yml"\n  - ./extra.yml\nenvironments:\n  - name: dev\n',
      'extra.yml': 'environments:\n  - name: prod\n',
    });
    const project = await readMeltanoProject(dir);
    expect(project.files).toEqual(['meltano.yml', 'extra.yml']);
    expect(project.environments).toEqual(['dev', 'prod']);
  });

  it('resolves YAML anchors, aliases and merge keys', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'x-env: &shared_env',
        '  TARGET_SCHEMA: raw',
        '  API_URL: ${API_URL}',
        'x-tasks: &tasks [tap-a target-b, dbt:run]',
        'jobs:',
        '  - name: load',
        '    tasks: *tasks',
        'schedules:',
        '  - name: hourly',
        '    interval: "@hourly"',
        '    job: load',
        '    env: *shared_env',
        '  - name: daily',
        '    interval: "0 6 * * *"',
        '    job: load',
        '    env:',
        '      <<: *shared_env',
        '      EXTRA: "1"',
        '',
      ].join('\n'),
    });
    const project = await readMeltanoProject(dir);
    expect(project.jobs).toEqual({ load: ['tap-a target-b', 'dbt:run'] });
    expect(project.schedules.map((schedule) => schedule.env)).toEqual([
      { TARGET_SCHEMA: 'raw', API_URL: '${API_URL}' },
      { TARGET_SCHEMA: 'raw', API_URL: '${API_URL}', EXTRA: '1' },
    ]);
  });

  it('reads CRLF files with correct values', async () => {
    const dir = writeProject({
      'meltano.yml':
        'default_environment: dev\r\nenvironments:\r\n- name: dev\r\nschedules:\r\n' +
        '- name: a b\r\n  interval: 0 6 * * 1-5\r\n  extractor: tap-x\r\n  loader: target-y\r\n',
    });
    const project = await readMeltanoProject(dir);
    expect(project.schedules[0]).toMatchObject({ name: 'a b', interval: '0 6 * * 1-5' });
    expect(validateSchedules(project)[0]).toMatchObject({ valid: true, cron: '0 6 * * 1-5' });
  });

  it('reads the meltano.cloud environments annotation', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'environments: [{name: dev}, {name: prod}]',
        'jobs: [{name: j, tasks: [tap target]}]',
        'schedules:',
        '  - name: everywhere',
        '    interval: "@daily"',
        '    job: j',
        '  - name: prod-only',
        '    interval: "@daily"',
        '    job: j',
        '    annotations:',
        '      meltano.cloud:',
        '        environments: [prod]',
        '      airflow: {disabled: true}',
        '  - name: typo',
        '    interval: "@daily"',
        '    job: j',
        '    annotations: {meltano.cloud: {environments: [prd]}}',
        '',
      ].join('\n'),
    });
    const project = await readMeltanoProject(dir);
    expect(project.schedules.map((schedule) => schedule.environments)).toEqual([
      null,
      ['prod'],
      ['prd'],
    ]);
    const names = (environment: string) =>
      schedulesForEnvironment(project, environment).map((schedule) => schedule.name);
    expect(names('dev')).toEqual(['everywhere']);
    expect(names('prod')).toEqual(['everywhere', 'prod-only']);
    expect(validateSchedules(project)[2]?.invalidReason).toBe(
      "Schedule 'typo' (meltano.yml line 14): its meltano.cloud annotation names undefined environment 'prd' " +
        '(known: dev, prod)',
    );
  });

  it('refuses include patterns that leave the project folder', async () => {
    const repo = writeProject({
      'shared/common.meltano.yml': 'jobs:\n  - name: shared-job\n    tasks: [tap target]\n',
      'project/meltano.yml': 'include_paths:\n  - ../shared/*.meltano.yml\n',
    });
    const error = await readError(readMeltanoProject(path.join(repo, 'project')));
    expect(error.code).toBe('invalid_structure');
    expect(error.message).toBe(
      "meltano.yml line 2: include_paths pattern '../shared/*.meltano.yml' points outside the " +
        'project directory',
    );

    // Given the repository as the boundary, files elsewhere in it may be included.
    const project = await readMeltanoProject(path.join(repo, 'project'), { repoDir: repo });
    expect(project.files).toEqual(['project/meltano.yml', 'shared/common.meltano.yml']);
    expect(Object.keys(project.jobs)).toEqual(['shared-job']);

    const outsideRepo = writeProject({ 'meltano.yml': 'include_paths: [../../etc/*.yml]\n' });
    const escaped = await readError(
      readMeltanoProject(outsideRepo, { repoDir: path.dirname(outsideRepo) }),
    );
    expect(escaped.message).toContain('points outside the repository');
  });

  it('refuses included files that are symbolic links out of the project', async () => {
    const outside = writeProject({ 'secret.yml': 'environments: [{name: leaked}]\n' });
    const dir = writeProject({ 'meltano.yml': 'include_paths: ["./extract/*.yml"]\n' });
    fs.mkdirSync(path.join(dir, 'extract'));
    fs.symlinkSync(path.join(outside, 'secret.yml'), path.join(dir, 'extract', 'link.yml'));
    const error = await readError(readMeltanoProject(dir));
    expect(error.code).toBe('invalid_structure');
    expect(error.message).toContain('extract/link.yml, a symbolic link pointing outside');
  });
});

describe('readMeltanoProject errors', () => {
  it('reports a missing meltano.yml', async () => {
    const repo = writeProject({ 'README.md': 'hi' });
    const error = await readError(
      readMeltanoProject(path.join(repo, 'meltano'), { repoDir: repo }),
    );
    expect(error.code).toBe('missing_meltano_yml');
    expect(error.file).toBe('meltano/meltano.yml');
    expect(error.message).toMatch(/^No meltano\.yml at meltano\/meltano\.yml: /);

    const bare = await readError(readMeltanoProject(repo));
    expect(bare.message).toMatch(/^No meltano\.yml in the project folder/);
  });

  it('reports YAML syntax errors with the file and 1-based line', async () => {
    const dir = writeProject({
      'meltano.yml': 'include_paths:\n  - ./environments/*.meltano.yml\n',
      'environments/dev.meltano.yml': 'environments:\n  - name: dev\n',
      'environments/prod.meltano.yml': [
        'environments:',
        '  - name: prod',
        '    config:',
        '      plugins:',
        '        extractors:',
        '          - name: tap-x',
        '           config: {}',
        '',
      ].join('\n'),
    });
    const error = await readError(readMeltanoProject(dir));
    expect(error.code).toBe('yaml_syntax');
    expect(error.file).toBe('environments/prod.meltano.yml');
    expect(error.line).toBe(7);
    expect(error.message).toMatch(
      /^YAML syntax error in environments\/prod\.meltano\.yml line 7: /,
    );
  });

  it('counts lines correctly in CRLF files', async () => {
    const dir = writeProject({ 'meltano.yml': 'a: 1\r\nb: 2\r\na: 3\r\n' });
    const error = await readError(readMeltanoProject(dir));
    expect(error).toMatchObject({ code: 'yaml_syntax', file: 'meltano.yml', line: 3 });
    expect(error.message).toBe('YAML syntax error in meltano.yml line 3: Map keys must be unique');
  });

  it('explains an unquoted @preset', async () => {
    const dir = writeProject({
      'meltano.yml': 'schedules:\n  - name: s\n    interval: @daily\n',
    });
    const error = await readError(readMeltanoProject(dir));
    expect(error.line).toBe(3);
    expect(error.message).toContain("quote values starting with @, e.g. interval: '@daily'");
  });

  it('reports an alias without its anchor', async () => {
    const dir = writeProject({ 'meltano.yml': 'version: 1\nenvironments: *envs\n' });
    const error = await readError(readMeltanoProject(dir));
    expect(error).toMatchObject({ code: 'yaml_syntax', line: 2 });
    expect(error.message).toContain('Unresolved alias');
  });

  it.each([
    [
      'schedules: {a: 1}\n',
      'meltano.yml line 1: schedules must be a list of schedules, each with a name',
      1,
    ],
    [
      'environments:\n  - name: dev\n  - config: {}\n',
      'meltano.yml line 3: environment #2 in environments must be a mapping with a name',
      3,
    ],
    [
      'schedules:\n  - name: s\n    job: [a, b]\n',
      "meltano.yml line 3: schedule 's': job must be a single value",
      3,
    ],
    [
      '- just\n- a list\n',
      'meltano.yml must be a YAML mapping (key: value lines) at the top level',
      1,
    ],
    [
      'include_paths: ./x.yml\n',
      'meltano.yml line 1: include_paths must be a list of file patterns',
      1,
    ],
    [
      'jobs:\n  - name: a\n    tasks: [x]\n  - name: a\n    tasks: [y]\n',
      "meltano.yml line 4: job 'a' is defined twice (first in meltano.yml line 2)",
      4,
    ],
  ])('rejects invalid structure: %j', async (content, message, line) => {
    const error = await readError(readMeltanoProject(writeProject({ 'meltano.yml': content })));
    expect(error).toMatchObject({ code: 'invalid_structure', message, line });
  });

  it('rejects a schedule defined in two files', async () => {
    const dir = writeProject({
      'meltano.yml': 'include_paths: [more.yml]\nschedules:\n  - name: s\n    job: j\n',
      'more.yml': 'schedules:\n  - name: s\n    job: j\n',
    });
    const error = await readError(readMeltanoProject(dir));
    expect(error.message).toBe(
      "more.yml line 2: schedule 's' is defined twice (first in meltano.yml line 3)",
    );
  });
});

describe('validateSchedules', () => {
  it('names the schedule and the bad value', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'jobs:',
        '  - name: a',
        '    tasks: [x]',
        '  - name: b',
        '    tasks: [y]',
        'schedules:',
        '  - {name: no-interval, job: a}',
        '  - {name: six-fields, job: a, interval: "0 0 8 * * *"}',
        '  - {name: garbage, job: a, interval: "every day"}',
        '  - {name: bad-preset, job: a, interval: "@fortnightly"}',
        '  - {name: out-of-range, job: a, interval: "61 * * * *"}',
        '  - {name: missing-job, job: c, interval: "@daily"}',
        '  - {name: no-target, interval: "@daily"}',
        '  - {name: manual, job: b, interval: "@manual"}',
        '  - {name: names, job: b, interval: "0 9 * JAN-MAR MON-FRI"}',
        '',
      ].join('\n'),
    });
    const results = validateSchedules(await readMeltanoProject(dir));
    expect(results.map((result) => [result.name, result.valid])).toEqual([
      ['no-interval', false],
      ['six-fields', false],
      ['garbage', false],
      ['bad-preset', false],
      ['out-of-range', false],
      ['missing-job', false],
      ['no-target', false],
      ['manual', true],
      ['names', true],
    ]);
    const reasons = results.map((result) => result.invalidReason);
    expect(reasons[0]).toBe(
      "Schedule 'no-interval' (meltano.yml line 7): no interval is set " +
        "(use a cron like '0 6 * * *', a preset like '@daily', or '@manual')",
    );
    expect(reasons[1]).toContain(
      "Schedule 'six-fields' (meltano.yml line 8): interval '0 0 8 * * *' has 6 fields",
    );
    expect(reasons[2]).toContain(
      "Schedule 'garbage' (meltano.yml line 9): interval 'every day' has 2 fields",
    );
    expect(reasons[3]).toContain(
      "Schedule 'bad-preset' (meltano.yml line 10): interval '@fortnightly' is not a known",
    );
    expect(reasons[4]).toContain(
      "Schedule 'out-of-range' (meltano.yml line 11): interval '61 * * * *' is not a cron croniter accepts",
    );
    expect(reasons[5]).toBe(
      "Schedule 'missing-job' (meltano.yml line 12): job 'c' is not defined in jobs (known: a, b)",
    );
    expect(reasons[6]).toBe(
      "Schedule 'no-target' (meltano.yml line 13): it names neither a job nor an extractor and loader",
    );
    expect(results[7]).toEqual({
      name: 'manual',
      valid: true,
      invalidReason: null,
      cron: null,
      manualOnly: true,
    });
    expect(results[8]?.cron).toBe('0 9 * JAN-MAR MON-FRI');
  });
});

describe('assertEnvironmentExists', () => {
  it('passes for a defined environment and lists the known ones otherwise', async () => {
    const project = await readMeltanoProject(path.join(FIXTURES_DIR, 'meltano__squared'));
    expect(() => assertEnvironmentExists(project, 'prod')).not.toThrow();
    let caught: unknown;
    try {
      assertEnvironmentExists(project, 'production');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MeltanoProjectError);
    expect(caught).toMatchObject({
      code: 'unknown_environment',
      message:
        "Environment 'production' is not defined in meltano.yml " +
        '(known: cicd, prod, staging, userdev)',
    });
  });

  it('says so when the project has no environments', async () => {
    const project = await readMeltanoProject(path.join(FIXTURES_DIR, 'stkbailey__homelab'));
    expect(() => assertEnvironmentExists(project, 'dev')).toThrow(
      "Environment 'dev' is not defined in meltano.yml (the project defines no environments)",
    );
  });
});

describe('order as written', () => {
  it('keeps env keys, jobs and schedules in written order, integer-like keys included', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'version: 1',
        'include_paths: [./b/*.meltano.yml, ./a/*.meltano.yml]',
        'jobs:',
        '  - {name: zeta, tasks: [tap-z target-z]}',
        '  - {name: "10", tasks: [tap-b target-b]}',
        '  - {name: alpha, tasks: [tap-a target-a, dbt:run]}',
        'schedules:',
        '  - name: zz-main',
        '    interval: "@daily"',
        '    job: zeta',
        '    env: {ZED: "1", "10": ten, "2": two, ALPHA: a}',
        '',
      ].join('\n'),
      'a/x.meltano.yml': 'schedules:\n  - {name: aa-from-a, interval: "@hourly", job: alpha}\n',
      'b/y.meltano.yml': 'schedules:\n  - {name: mm-from-b, interval: "@hourly", job: alpha}\n',
    });
    const project = await readMeltanoProject(dir);
    // Main file, then included files in include_paths order (b before a), never sorted.
    expect(project.schedules.map((s) => s.name)).toEqual(['zz-main', 'mm-from-b', 'aa-from-a']);
    expect(project.schedules[0]?.envEntries).toEqual([
      ['ZED', '1'],
      ['10', 'ten'],
      ['2', 'two'],
      ['ALPHA', 'a'],
    ]);
    expect(project.jobEntries).toEqual([
      ['zeta', ['tap-z target-z']],
      ['10', ['tap-b target-b']],
      ['alpha', ['tap-a target-a', 'dbt:run']],
    ]);
  });
});

describe('projects without environments', () => {
  it('needs no environment; default_environment applies when set and must be defined', async () => {
    const none = await readMeltanoProject(path.join(FIXTURES_DIR, 'stkbailey__homelab'));
    expect(environmentWithoutOne(none)).toBeNull();
    const squared = await readMeltanoProject(path.join(FIXTURES_DIR, 'meltano__squared'));
    expect(environmentWithoutOne(squared)).toBe('userdev');

    const dir = writeProject({
      'meltano.yml': 'version: 1\ndefault_environment: dev\nschedules: []\n',
    });
    const undefinedDefault = await readMeltanoProject(dir);
    expect(() => environmentWithoutOne(undefinedDefault)).toThrow(
      "meltano.yml line 2: default_environment 'dev' is not a defined environment " +
        '(the project defines no environments)',
    );
  });

  it('marks job schedules invalid when no environment applies (meltano run needs one)', async () => {
    const dir = writeProject({
      'meltano.yml': [
        'version: 1',
        'jobs: [{name: load, tasks: [tap-x target-y]}]',
        'schedules:',
        '  - {name: job-schedule, interval: "@daily", job: load}',
        '  - {name: el-schedule, interval: "@daily", extractor: tap-x, loader: target-y}',
        '',
      ].join('\n'),
    });
    const project = await readMeltanoProject(dir);
    const results = validateSchedules(project, { environment: null });
    expect(results.map((r) => [r.name, r.valid])).toEqual([
      ['job-schedule', false],
      ['el-schedule', true],
    ]);
    expect(results[0]?.invalidReason).toContain(
      "Schedule 'job-schedule' (meltano.yml line 4): it runs a job, and Meltano runs jobs " +
        '(meltano run) only in an environment',
    );
    // With an environment set on the deployment, the same schedule is fine.
    expect(validateSchedules(project, { environment: 'prod' })[0]?.valid).toBe(true);
  });
});
