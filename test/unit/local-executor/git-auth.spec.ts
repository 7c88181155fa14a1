import { dirname } from 'node:path';
import {
  displayUrl,
  gitAuth,
  gitMessage,
  isSafeBranchName,
  redact,
} from '../../../src/common/git-auth.js';
import { LineSplitter } from '../../../src/runs/executors/local/line-splitter.js';
import {
  createFixture,
  recorder,
  startGitHttpServer,
  type Fixture,
  type GitHttpServer,
} from './helpers.js';

const TOKEN = 'ghs_TESTtoken0123456789abcdefABCDEF';
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');

describe('LocalExecutor: cloning over HTTP with a token', () => {
  let fx: Fixture;
  let server: GitHttpServer;

  beforeAll(async () => {
    fx = await createFixture();
    server = await startGitHttpServer(dirname(fx.bareDir), TOKEN);
  });

  afterAll(async () => {
    await server.close();
    await fx.dispose();
  });

  const noTokenAnywhere = (lines: string[], reason: string | null) => {
    for (const text of [...lines, reason ?? '']) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(BASIC);
    }
  };

  it('sends the token as a header and keeps it out of .git/config and the logs', async () => {
    const rec = recorder();
    const handle = await fx.executor().start(
      fx.spec({
        repository: { cloneUrl: `${server.url}/project.git`, token: TOKEN },
        env: { FAKE_MELTANO_PRINT_FILE: 'REPO_CONFIG', REPO_CONFIG: '../.git/config' },
      }),
      rec.callbacks,
    );
    const outcome = await handle.outcome;
    expect(outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    expect(server.authorizations).toContain(`Basic ${BASIC}`);
    expect(rec.lines()).toContain(`\turl = ${server.url}/project.git`);
    noTokenAnywhere(rec.lines(), outcome.reason);
  });

  it('takes a token embedded in the URL the same way', async () => {
    const rec = recorder();
    const url = new URL(`${server.url}/project.git`);
    url.username = 'x-access-token';
    url.password = TOKEN;
    const handle = await fx.executor().start(
      fx.spec({
        repository: { cloneUrl: url.toString() },
        env: { FAKE_MELTANO_PRINT_FILE: 'REPO_CONFIG', REPO_CONFIG: '../.git/config' },
      }),
      rec.callbacks,
    );
    const outcome = await handle.outcome;
    expect(outcome.status).toBe('succeeded');
    expect(rec.lines()).toContain(`\turl = ${server.url}/project.git`);
    expect(rec.lines()).toContain(
      `[meltano-cloud] Cloning ${server.url}/project.git at commit ${fx.commits[1]} (branch main)`,
    );
    noTokenAnywhere(rec.lines(), outcome.reason);
  });

  it('fails with git’s message (and no token) for a wrong token or a missing repository', async () => {
    const wrong = recorder();
    const wrongToken = await fx.executor().start(
      fx.spec({
        repository: { cloneUrl: `${server.url}/project.git`, token: 'ghs_wrongTOKEN99' },
      }),
      wrong.callbacks,
    );
    const wrongOutcome = await wrongToken.outcome;
    expect(wrongOutcome.status).toBe('failed');
    expect(wrongOutcome.reason).toMatch(
      /^could not clone the repository: .*terminal prompts disabled/,
    );
    for (const text of [...wrong.lines(), wrongOutcome.reason])
      expect(text).not.toContain('ghs_wrongTOKEN99');

    const missing = recorder();
    const missingRepo = await fx
      .executor()
      .start(
        fx.spec({ repository: { cloneUrl: `${server.url}/missing.git`, token: TOKEN } }),
        missing.callbacks,
      );
    const missingOutcome = await missingRepo.outcome;
    expect(missingOutcome.reason).toMatch(/^could not clone the repository: .*not found/);
    noTokenAnywhere(missing.lines(), missingOutcome.reason);

    const unreachable = recorder();
    const down = await fx.executor().start(
      fx.spec({
        repository: { cloneUrl: `http://x-access-token:${TOKEN}@127.0.0.1:1/project.git` },
      }),
      unreachable.callbacks,
    );
    const downOutcome = await down.outcome;
    expect(downOutcome.reason).toMatch(/^could not clone the repository: .*127\.0\.0\.1/);
    noTokenAnywhere(unreachable.lines(), downOutcome.reason);
  });
});

describe('git helpers', () => {
  it('passes paths and file URLs through untouched', () => {
    expect(gitAuth('/srv/repo.git', undefined, {})).toEqual({
      remoteUrl: '/srv/repo.git',
      env: {},
      secrets: [],
    });
    expect(gitAuth('file:///srv/repo.git', 'tok_12345', {}).remoteUrl).toBe('file:///srv/repo.git');
  });

  it('turns a token into a header scoped to the origin, after existing GIT_CONFIG entries', () => {
    const auth = gitAuth('https://user:pw12345@github.com/acme/data.git', 'ghs_abc123', {
      GIT_CONFIG_COUNT: '2',
    });
    expect(auth.remoteUrl).toBe('https://github.com/acme/data.git');
    expect(auth.env).toEqual({
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_2: 'http.https://github.com/.extraHeader',
      GIT_CONFIG_VALUE_2: `Authorization: Basic ${Buffer.from('x-access-token:ghs_abc123').toString('base64')}`,
    });
    expect(auth.secrets).toEqual(expect.arrayContaining(['ghs_abc123', 'pw12345']));
  });

  it('redacts secrets, strips credentials from displayed URLs and extracts git errors', () => {
    expect(redact('token ghs_abc123 and ghs_abc123', ['ghs_abc123', 'x'])).toBe(
      'token *** and ***',
    );
    expect(displayUrl('https://a:b@example.com/r.git')).toBe('https://example.com/r.git');
    expect(
      gitMessage([
        "fatal: '/x' does not appear to be a git repository",
        'fatal: Could not read from remote repository.',
        '',
        'Please make sure you have the correct access rights',
      ]),
    ).toBe("'/x' does not appear to be a git repository; Could not read from remote repository.");
    expect(gitMessage(['something odd', ''])).toBe('something odd');
    expect(gitMessage([])).toBeNull();
    expect(isSafeBranchName('feature/new-tap')).toBe(true);
    for (const bad of ['-x', 'a..b', 'a b', 'a:b', '', 'x.lock', 'a@{1}'])
      expect(isSafeBranchName(bad)).toBe(false);
  });
});

describe('LineSplitter', () => {
  it('joins partial lines, keeps split UTF-8 characters, drops CR and flushes the last line', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const euro = Buffer.from('€');
    splitter.push(Buffer.from('first li'));
    splitter.push(Buffer.from('ne\r\nsecond '));
    splitter.push(euro.subarray(0, 1));
    splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('\n\nlast')]));
    expect(lines).toEqual(['first line', 'second €', '']);
    splitter.end();
    splitter.end();
    expect(lines).toEqual(['first line', 'second €', '', 'last']);
  });

  it('cuts a line that never ends', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 4);
    splitter.push('abcdefghij');
    splitter.end();
    expect(lines).toEqual(['abcd', 'efgh', 'ij']);
  });
});
