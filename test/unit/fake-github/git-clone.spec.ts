import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.js';

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git as a separate process (never sync: the fake serves from this process). */
function runGit(args: string[], cwd?: string): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', 'credential.helper=', '-c', 'protocol.version=2', ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: tmpdir(),
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: devNull,
          GIT_ASKPASS: '',
          SSH_ASKPASS: '',
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('fake GitHub: git smart HTTP clones', () => {
  let fake: FakeGitHub;
  let app: App;
  let work: string;
  let n = 0;
  let sha: string;

  beforeAll(async () => {
    fake = await startFakeGitHub();
    fake.addInstallation({
      id: 21,
      account: { login: 'acme', id: 601, type: 'Organization' },
      repositories: ['acme/data'],
    });
    fake.addInstallation({
      id: 22,
      account: { login: 'globex', id: 602, type: 'Organization' },
      repositories: ['globex/other'],
    });
    const repo = fake.addRepository('acme/data', { defaultBranch: 'trunk' });
    fake.addRepository('globex/other');
    await repo.commit('trunk', { 'README.md': '# data\n' }, 'Initial commit');
    sha = await repo.commit(
      'trunk',
      { 'data/meltano.yml': 'version: 1\nproject_id: abc\n' },
      'Add Meltano project',
    );
    app = new App({
      appId: fake.appId,
      privateKey: fake.appPrivateKeyPem,
      Octokit: Octokit.defaults({ baseUrl: fake.apiUrl }),
    });
    work = await mkdtemp(join(tmpdir(), 'fake-github-clone-'));
  });
  afterAll(async () => {
    await fake.close();
    await rm(work, { recursive: true, force: true });
  });

  async function mint(installationId: number, repositories?: string[]): Promise<string> {
    const { data } = await app.octokit.request(
      'POST /app/installations/{installation_id}/access_tokens',
      { installation_id: installationId, ...(repositories ? { repositories } : {}) },
    );
    return data.token;
  }

  async function clone(url: string): Promise<{ result: GitResult; dir: string }> {
    const dir = join(work, `clone-${++n}`);
    return { result: await runGit(['clone', '-q', url, dir]), dir };
  }

  function expectRefused(result: GitResult): void {
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Authentication failed|could not read Username|401/);
  }

  it('clones with a minted installation token and gets the committed files', async () => {
    const token = await mint(21);
    const before = fake.cloneAttempts.length;
    const { result, dir } = await clone(fake.cloneUrl('acme/data', token));
    expect(result).toMatchObject({ code: 0 });
    expect(await readFile(join(dir, 'data/meltano.yml'), 'utf8')).toBe(
      'version: 1\nproject_id: abc\n',
    );
    const head = await runGit(['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'], dir);
    expect(head.stdout.split('\n').slice(0, 2)).toEqual([sha, 'trunk']);

    // git probes without credentials first, gets the 401 challenge, then sends the token.
    expect(fake.cloneAttempts.slice(before)).toEqual([
      expect.objectContaining({ repo: 'acme/data', credentials: false, authorized: false }),
      expect.objectContaining({
        repo: 'acme/data',
        service: 'git-upload-pack',
        authorized: true,
        credentials: true,
        installationId: 21,
        reason: null,
      }),
    ]);
    // The log shows the git traffic with the credentials redacted.
    const logged = fake.requests.filter((r) => r.pathname === '/acme/data.git/git-upload-pack');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.every((r) => r.headers.authorization === 'Basic')).toBe(true);
  });

  it('serves a fetch of new commits and a token scoped to the repository', async () => {
    const token = await mint(21, ['data']);
    const { result, dir } = await clone(fake.repository('acme/data')!.cloneUrlWithToken(token));
    expect(result.code).toBe(0);
    const next = await fake
      .repository('acme/data')!
      .commit('trunk', { 'data/meltano.yml': 'version: 2\n' }, 'Bump');
    const pulled = await runGit(['pull', '-q', '--ff-only'], dir);
    expect(pulled.code).toBe(0);
    expect((await runGit(['rev-parse', 'HEAD'], dir)).stdout.trim()).toBe(next);
    expect(await readFile(join(dir, 'data/meltano.yml'), 'utf8')).toBe('version: 2\n');
  });

  it('accepts gzip-encoded upload-pack requests (protocol v0)', async () => {
    const token = await mint(21);
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const request = `${pkt(`want ${sha} ofs-delta\n`)}0000${pkt('done\n')}`;
    const res = await fetch(`${fake.url}/acme/data.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
        'Content-Type': 'application/x-git-upload-pack-request',
        'Content-Encoding': 'gzip',
        Accept: 'application/x-git-upload-pack-result',
      },
      body: gzipSync(request),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(body.subarray(8, 12).toString()).toBe('PACK');
    expect(fake.requests.at(-1)).toMatchObject({ body: `<${gzipSync(request).length} bytes>` });
  });

  it('refuses a clone without a token', async () => {
    const before = fake.cloneAttempts.length;
    const { result } = await clone(fake.cloneUrl('acme/data'));
    expectRefused(result);
    expect(fake.cloneAttempts.slice(before)).toEqual([
      expect.objectContaining({
        repo: 'acme/data',
        credentials: false,
        authorized: false,
        reason: 'no credentials',
      }),
    ]);
    const res = await fetch(`${fake.url}/acme/data.git/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="GitHub"');
  });

  it('refuses a token of another installation, and an unknown token', async () => {
    const before = fake.cloneAttempts.length;
    expectRefused((await clone(fake.cloneUrl('acme/data', await mint(22)))).result);
    expectRefused((await clone(fake.cloneUrl('acme/data', 'ghs_madeup'))).result);
    const refused = fake.cloneAttempts.slice(before).filter((a) => a.credentials);
    expect(refused.map((a) => [a.authorized, a.installationId, a.reason])).toEqual([
      [false, 22, 'repository not granted to the installation'],
      [false, null, 'unknown token'],
    ]);
  });

  it('refuses once the grant is revoked, and a token scoped to another repository', async () => {
    const token = await mint(21);
    fake.grant(21, 'globex/other');
    const scopedElsewhere = await mint(21, ['globex/other']);
    expectRefused((await clone(fake.cloneUrl('acme/data', scopedElsewhere))).result);
    fake.revoke(21, 'acme/data');
    try {
      const before = fake.cloneAttempts.length;
      expectRefused((await clone(fake.cloneUrl('acme/data', token))).result);
      expect(fake.cloneAttempts.slice(before).filter((a) => a.credentials)).toEqual([
        expect.objectContaining({
          authorized: false,
          installationId: 21,
          reason: 'repository not granted to the installation',
        }),
      ]);
    } finally {
      fake.grant(21, 'acme/data');
      fake.revoke(21, 'globex/other');
    }
    expect((await clone(fake.cloneUrl('acme/data', token))).result.code).toBe(0);
  });

  it('refuses an expired token', async () => {
    const token = await mint(21);
    fake.expireToken(token);
    expectRefused((await clone(fake.cloneUrl('acme/data', token))).result);
    expect(fake.cloneAttempts.at(-1)).toMatchObject({ reason: 'token expired' });
  });

  it('follows a rename: the grant moves with the repository, the old name is gone', async () => {
    const token = await mint(21);
    fake.renameRepository('acme/data', 'acme/warehouse');
    try {
      expect(fake.installation(21)!.repositories).toContain('acme/warehouse');
      const { result, dir } = await clone(fake.cloneUrl('acme/warehouse', token));
      expect(result.code).toBe(0);
      expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('# data\n');
      expectRefused((await clone(fake.cloneUrl('acme/data', token))).result);
      expect(fake.cloneAttempts.at(-1)).toMatchObject({ reason: 'repository not found' });
    } finally {
      fake.renameRepository('acme/warehouse', 'acme/data');
    }
  });
});
