/**
 * A local fake of the parts of GitHub meltano-cloud talks to, on a real
 * HTTP server (127.0.0.1, ephemeral port):
 *
 * - OAuth web flow at the web base URL (`fake.webUrl`): `GET /login/oauth/authorize`,
 *   `POST /login/oauth/access_token`.
 * - REST API at `fake.apiUrl` (`<url>/api/v3`, laid out like GitHub Enterprise Server so
 *   Octokit's `baseUrl` works): `GET /user`, `GET /user/emails`, `GET /user/installations`
 *   (OAuth token: installations on the user's own account or listing the user in `admins`);
 *   `GET /app`,
 *   `GET /app/installations[/:id]`, `POST /app/installations/:id/access_tokens`,
 *   `GET /repos/:owner/:repo/installation`, `GET /orgs|users/:login/installation`
 *   (App JWT, RS256, checked against the app's public key); `GET /installation/repositories`,
 *   `DELETE /installation/token`, `GET /repos/:owner/:repo`, `.../branches[/:branch]`,
 *   `.../commits/:ref` (installation token).
 * - git smart HTTP (`<url>/:owner/:repo.git`), served by the real `git http-backend`, for
 *   clients presenting an installation token that grants the repository.
 *
 * Repositories are real bare git repositories in a temporary directory.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify as verifySignature,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { devNull, tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  DEFAULT_INSTALLATION_EVENTS,
  DEFAULT_INSTALLATION_PERMISSIONS,
  accountObject,
  installationObject,
  nodeId,
  repositoryObject,
  stableId,
  userObject,
  type AccountInput,
  type AccountType,
  type InstallationInput,
  type RepositoryInput,
  type RepositorySelection,
  type UserInput,
} from './github-payloads.js';

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------
// Public types

/** A GitHub user the fake can sign in as. */
export interface FakeGitHubUser extends UserInput {
  id: number;
  login: string;
  name?: string | null;
  email?: string | null;
  avatar_url?: string;
}

export interface FakeGitHubOptions {
  /** OAuth client credentials the token exchange accepts (random by default). */
  clientId?: string;
  clientSecret?: string;
  /**
   * The OAuth app's registered callback URL. When set, `redirect_uri` must be on the same
   * host and port and at or under its path (GitHub's rule); when unset, any URI is accepted.
   */
  callbackUrl?: string;
  appId?: number;
  appSlug?: string;
  appName?: string;
  webhookSecret?: string;
  /** Lifetime of minted installation tokens (GitHub: 1 hour). */
  installationTokenTtlSeconds?: number;
  /** The initially signed-in user (default: nobody; see `signInAs`). */
  user?: FakeGitHubUser;
}

export interface AddInstallationInput {
  id: number;
  account: { login: string; id: number; type: 'Organization' | 'User' };
  /** Full names (`owner/name`) of the repositories the installation is granted. */
  repositories?: string[];
  suspended?: boolean;
  repositorySelection?: RepositorySelection;
  permissions?: Record<string, string>;
  events?: string[];
  /**
   * Logins of users who may administer the installation (`GET /user/installations` lists it
   * for them), besides the owner of a User account.
   */
  admins?: string[];
}

/** An installation's live state (mutate it through the fake's methods). */
export interface FakeInstallation extends InstallationInput {
  id: number;
  account: AccountInput & { type: AccountType };
  /** Granted repositories, by full name (compared case-insensitively). */
  repositories: string[];
  suspended: boolean;
  repositorySelection: RepositorySelection;
  permissions: Record<string, string>;
  events: string[];
  /** Logins of users who may administer it (see `AddInstallationInput.admins`). */
  admins: string[];
}

export interface AddRepositoryOptions {
  defaultBranch?: string;
  private?: boolean;
  /** GitHub's numeric repository id (sequential by default). */
  id?: number;
  /** Defaults to the account of an installation with the owner's login, else an Organization. */
  owner?: AccountInput;
}

export type FileContents = Record<string, string | Buffer | null>;

export interface CommitOptions {
  author?: { name: string; email: string };
  /** Author and committer date. */
  date?: Date | string;
}

export interface ChangedFiles {
  added: string[];
  modified: string[];
  removed: string[];
}

export interface FakeRepository extends RepositoryInput {
  readonly id: number;
  /** `owner/name`; changes with `fake.renameRepository`. */
  readonly fullName: string;
  readonly defaultBranch: string;
  readonly private: boolean;
  readonly owner: AccountInput;
  /** The bare repository on disk. */
  readonly path: string;
  /** `<url>/<owner>/<name>.git` */
  readonly cloneUrl: string;
  /** The clone URL with `x-access-token:<token>@` in it, as GitHub documents for App tokens. */
  cloneUrlWithToken(token: string): string;
  /**
   * Commits `files` (path → contents; `null` deletes) on `branch` and pushes the commit into
   * the bare repository. A new branch starts from the default branch's head (or as a root
   * commit in an empty repository). Returns the new commit's sha.
   */
  commit(
    branch: string,
    files: FileContents,
    message?: string,
    options?: CommitOptions,
  ): Promise<string>;
  /** The branch's head commit sha, or null when there is no such branch. */
  headSha(branch: string): Promise<string | null>;
  branches(): Promise<string[]>;
  deleteBranch(branch: string): Promise<void>;
  /** Files added / modified / removed between two commits (`before` may be the zero sha). */
  changedFiles(before: string, after: string): Promise<ChangedFiles>;
}

export interface MintedToken {
  token: string;
  installationId: number;
  createdAt: Date;
  expiresAt: Date;
  /** The repositories the token was scoped to (ids), or null: all of the installation's. */
  repositoryIds: number[] | null;
  /** Full names of the scoped repositories when minted, or null. */
  repositories: string[] | null;
  permissions: Record<string, string>;
  revoked: boolean;
}

export interface CloneAttempt {
  /** `owner/name` as requested. */
  repo: string;
  service: string;
  /** Whether the request carried Basic credentials (git first probes without them). */
  credentials: boolean;
  authorized: boolean;
  installationId: number | null;
  /** Why it was refused, or null. */
  reason: string | null;
  at: Date;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  pathname: string;
  /** Lower-case names; `authorization` is redacted to its scheme (`Basic`, `Bearer`, `token`). */
  headers: Record<string, string>;
  /** Text bodies as text; binary ones (git packs) as `<N bytes>`. */
  body: string;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` (also the web base URL). */
  readonly url: string;
  readonly webUrl: string;
  /** `<url>/api/v3` */
  readonly apiUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly appId: number;
  readonly appSlug: string;
  /** PKCS#1 PEM, like the key GitHub lets you download. */
  readonly appPrivateKeyPem: string;
  readonly appPublicKeyPem: string;
  readonly webhookSecret: string;
  readonly requests: RecordedRequest[];
  readonly mintedTokens: MintedToken[];
  readonly cloneAttempts: CloneAttempt[];

  /** The user GitHub's authorize page acts for; null makes it redirect to `/login`. */
  signInAs(user: FakeGitHubUser | null): void;
  /** Makes the signed-in user press "Cancel" on the authorize page (`error=access_denied`). */
  denyAuthorization(deny?: boolean): void;
  /** An OAuth token for `user` without going through the browser flow. */
  createOAuthToken(user: FakeGitHubUser, scopes?: string[]): string;

  addInstallation(input: AddInstallationInput): FakeInstallation;
  installation(id: number): FakeInstallation | undefined;
  removeInstallation(id: number): void;
  suspendInstallation(id: number): void;
  unsuspendInstallation(id: number): void;
  grant(installationId: number, fullName: string): void;
  revoke(installationId: number, fullName: string): void;

  addRepository(fullName: string, options?: AddRepositoryOptions): FakeRepository;
  repository(fullName: string): FakeRepository | undefined;
  /** Rename or transfer (`acme/a` → `acme/b` or `other/a`); grants follow the repository. */
  renameRepository(fullName: string, newFullName: string): FakeRepository;
  removeRepository(fullName: string): void;

  /** Makes a minted token expired. */
  expireToken(token: string): void;
  /** Clone URL of a repository, with a token as Basic credentials when given. */
  cloneUrl(fullName: string, token?: string): string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Helpers

const DOCS = 'https://docs.github.com/rest';
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomToken(prefix: string, length = 36): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += BASE62[b % BASE62.length];
  return out;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The environment for the fake's own git processes: no user/system config, no prompts. */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

async function git(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd: options.cwd,
    env: gitEnv(options.env),
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

function splitFullName(fullName: string): { owner: string; name: string } {
  const match = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(fullName);
  if (!match || match[2]!.endsWith('.git')) throw new Error(`not an owner/name: ${fullName}`);
  return { owner: match[1]!, name: match[2]! };
}

function assertRefName(name: string): void {
  if (!name || name.startsWith('-') || /[\s~^:?*[\\]|\.\.|@\{|\/\/|\/$|\.lock$/.test(name)) {
    throw new Error(`invalid branch name: ${name}`);
  }
}

function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseAuthorization(req: IncomingMessage): { scheme: string; credentials: string } | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!match) return null;
  return { scheme: match[1]!.toLowerCase(), credentials: match[2]!.trim() };
}

function parseBasic(req: IncomingMessage): { username: string; password: string } | null {
  const auth = parseAuthorization(req);
  if (!auth || auth.scheme !== 'basic') return null;
  const decoded = Buffer.from(auth.credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-GitHub-Media-Type': 'github.v3; format=json',
    'X-GitHub-Api-Version-Selected': '2022-11-28',
    'X-GitHub-Request-Id': randomBytes(8).toString('hex').toUpperCase(),
    'X-RateLimit-Limit': '5000',
    'X-RateLimit-Remaining': '4999',
    'X-RateLimit-Used': '1',
    'X-RateLimit-Resource': 'core',
    ...headers,
  });
  res.end(text);
}

function apiError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message, documentation_url: DOCS, status: String(status) });
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, title: string, text: string): void {
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const html = `<!DOCTYPE html><html><head><title>${esc(title)}</title></head><body><h1>${esc(
    title,
  )}</h1><p>${esc(text)}</p></body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Content-Length': 0 });
  res.end();
}

function withQuery(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.toString();
}

function sameCallback(callback: string, redirectUri: string): boolean {
  let c: URL;
  let r: URL;
  try {
    c = new URL(callback);
    r = new URL(redirectUri);
  } catch {
    return false;
  }
  if (c.protocol !== r.protocol || c.host !== r.host) return false;
  const base = c.pathname.endsWith('/') ? c.pathname : `${c.pathname}/`;
  return r.pathname === c.pathname || r.pathname.startsWith(base);
}

function base64UrlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Access =
  | { ok: true; minted: MintedToken; installation: FakeInstallation }
  | { ok: false; reason: string; status: number };

// ---------------------------------------------------------------------------
// Repositories

class Repository implements FakeRepository {
  readonly private: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly hub: Hub,
    readonly id: number,
    public fullName: string,
    readonly defaultBranch: string,
    isPrivate: boolean,
    public owner: AccountInput,
    /** Path of the bare repository relative to the git root. */
    readonly relativePath: string,
  ) {
    this.private = isPrivate;
  }

  get path(): string {
    return join(this.hub.gitRoot, this.relativePath);
  }

  get cloneUrl(): string {
    return `${this.hub.url}/${this.fullName}.git`;
  }

  cloneUrlWithToken(token: string): string {
    const url = new URL(this.cloneUrl);
    url.username = 'x-access-token';
    url.password = token;
    return url.toString();
  }

  commit(
    branch: string,
    files: FileContents,
    message?: string,
    options: CommitOptions = {},
  ): Promise<string> {
    assertRefName(branch);
    const run = this.queue.then(() => this.doCommit(branch, files, message, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doCommit(
    branch: string,
    files: FileContents,
    message: string | undefined,
    options: CommitOptions,
  ): Promise<string> {
    const work = await mkdtemp(join(this.hub.workRoot, 'commit-'));
    try {
      await git(['init', '-q', '-b', branch, work]);
      const source = (await this.headSha(branch))
        ? branch
        : (await this.headSha(this.defaultBranch))
          ? this.defaultBranch
          : null;
      if (source) {
        await git(['fetch', '-q', '--no-tags', this.path, `refs/heads/${source}`], { cwd: work });
        await git(['reset', '-q', '--hard', 'FETCH_HEAD'], { cwd: work });
      }
      for (const [file, contents] of Object.entries(files)) {
        const relative = normalize(file);
        if (relative.startsWith('..') || relative.startsWith(sep) || relative === '.git') {
          throw new Error(`file outside the work tree: ${file}`);
        }
        const target = join(work, relative);
        if (contents === null) {
          await rm(target, { force: true, recursive: true });
        } else {
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, contents);
        }
      }
      await git(['add', '-A'], { cwd: work });
      const author = options.author ?? { name: 'Fake GitHub', email: 'fake-github@example.com' };
      const date: Record<string, string> =
        options.date === undefined
          ? {}
          : {
              GIT_AUTHOR_DATE: new Date(options.date).toISOString(),
              GIT_COMMITTER_DATE: new Date(options.date).toISOString(),
            };
      await git(
        [
          '-c',
          `user.name=${author.name}`,
          '-c',
          `user.email=${author.email}`,
          '-c',
          'commit.gpgSign=false',
          'commit',
          '-q',
          '--allow-empty',
          '--no-verify',
          '-m',
          message ?? `Update ${Object.keys(files).join(', ') || 'nothing'}`,
        ],
        { cwd: work, env: date },
      );
      const sha = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
      await git(['push', '-q', this.path, `HEAD:refs/heads/${branch}`], { cwd: work });
      return sha;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async headSha(branch: string): Promise<string | null> {
    return this.resolve(`refs/heads/${branch}`);
  }

  /** A commit-ish (sha, branch, tag) to a commit sha, or null. */
  async resolve(ref: string): Promise<string | null> {
    if (!ref || ref.startsWith('-')) return null;
    try {
      const out = await git([
        '--git-dir',
        this.path,
        'rev-parse',
        '--verify',
        '-q',
        `${ref}^{commit}`,
      ]);
      return out.trim() || null;
    } catch {
      return null;
    }
  }

  async branches(): Promise<string[]> {
    const out = await git([
      '--git-dir',
      this.path,
      'for-each-ref',
      '--format=%(refname)',
      'refs/heads/',
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((ref) => ref.slice('refs/heads/'.length));
  }

  async deleteBranch(branch: string): Promise<void> {
    assertRefName(branch);
    await git(['--git-dir', this.path, 'update-ref', '-d', `refs/heads/${branch}`]);
  }

  async changedFiles(before: string, after: string): Promise<ChangedFiles> {
    const from = /^0+$/.test(before) ? EMPTY_TREE : before;
    const to = /^0+$/.test(after) ? EMPTY_TREE : after;
    const out = await git([
      '--git-dir',
      this.path,
      'diff',
      '--name-status',
      '--no-renames',
      '-z',
      from,
      to,
    ]);
    const parts = out.split('\0').filter(Boolean);
    const changed: ChangedFiles = { added: [], modified: [], removed: [] };
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const status = parts[i]!;
      const file = parts[i + 1]!;
      if (status.startsWith('A')) changed.added.push(file);
      else if (status.startsWith('D')) changed.removed.push(file);
      else changed.modified.push(file);
    }
    return changed;
  }

  /** Commit details as the REST API shows them. */
  async commitInfo(sha: string) {
    const out = await git([
      '--git-dir',
      this.path,
      'log',
      '-1',
      '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B',
      sha,
    ]);
    const [hash, tree, parents, an, ae, ad, cn, ce, cd, ...message] = out.split('\0');
    const files = await git([
      '--git-dir',
      this.path,
      'diff-tree',
      '-r',
      '--root',
      '--no-commit-id',
      '--no-renames',
      '--name-status',
      '-z',
      sha,
    ]);
    const parts = files.split('\0').filter(Boolean);
    const changed: { filename: string; status: string }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const s = parts[i]!;
      changed.push({
        filename: parts[i + 1]!,
        status: s.startsWith('A') ? 'added' : s.startsWith('D') ? 'removed' : 'modified',
      });
    }
    return {
      sha: hash!,
      tree: tree!,
      parents: (parents ?? '').split(' ').filter(Boolean),
      author: { name: an!, email: ae!, date: ad! },
      committer: { name: cn!, email: ce!, date: cd! },
      message: message.join('\0').replace(/\n+$/, ''),
      files: changed,
    };
  }
}

// ---------------------------------------------------------------------------
// The server

class Hub implements FakeGitHub {
  url = '';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly appId: number;
  readonly appSlug: string;
  readonly appName: string;
  readonly appPrivateKeyPem: string;
  readonly appPublicKeyPem: string;
  readonly webhookSecret: string;
  readonly requests: RecordedRequest[] = [];
  readonly mintedTokens: MintedToken[] = [];
  readonly cloneAttempts: CloneAttempt[] = [];

  readonly root: string;
  readonly gitRoot: string;
  readonly workRoot: string;
  private readonly publicKey: KeyObject;
  private readonly server: Server;
  private readonly callbackUrl: string | undefined;
  private readonly tokenTtlMs: number;

  private signedIn: FakeGitHubUser | null;
  private denying = false;
  private readonly users = new Map<number, FakeGitHubUser>();
  private readonly codes = new Map<
    string,
    {
      userId: number;
      clientId: string;
      redirectUri: string;
      scopes: string[];
      used: boolean;
      expiresAt: number;
    }
  >();
  private readonly oauthTokens = new Map<
    string,
    { userId: number; scopes: string[]; clientId: string }
  >();
  private readonly installations = new Map<number, FakeInstallation>();
  private readonly repos = new Map<string, Repository>();
  private readonly tokens = new Map<string, MintedToken>();
  private nextRepoId = 700_000_001;

  constructor(options: FakeGitHubOptions) {
    this.clientId = options.clientId ?? `Ov23li${randomBytes(7).toString('hex')}`;
    this.clientSecret = options.clientSecret ?? randomBytes(20).toString('hex');
    this.callbackUrl = options.callbackUrl;
    this.appId = options.appId ?? 424242;
    this.appSlug = options.appSlug ?? 'meltano-cloud-test';
    this.appName = options.appName ?? 'Meltano Cloud (test)';
    this.webhookSecret = options.webhookSecret ?? randomBytes(20).toString('hex');
    this.tokenTtlMs = (options.installationTokenTtlSeconds ?? 3600) * 1000;
    const keys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    this.appPrivateKeyPem = keys.privateKey;
    this.appPublicKeyPem = keys.publicKey;
    this.publicKey = createPublicKey(keys.publicKey);
    this.signedIn = null;
    if (options.user) this.signInAs(options.user);
    this.root = mkdtempSync(join(tmpdir(), 'fake-github-'));
    this.gitRoot = join(this.root, 'git');
    this.workRoot = join(this.root, 'work');
    mkdirSync(this.gitRoot);
    mkdirSync(this.workRoot);
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  get webUrl(): string {
    return this.url;
  }

  get apiUrl(): string {
    return `${this.url}/api/v3`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    rmSync(this.root, { recursive: true, force: true });
  }

  // -- controls --------------------------------------------------------------

  signInAs(user: FakeGitHubUser | null): void {
    this.signedIn = user;
    if (user) this.users.set(user.id, user);
  }

  denyAuthorization(deny = true): void {
    this.denying = deny;
  }

  createOAuthToken(user: FakeGitHubUser, scopes: string[] = []): string {
    this.users.set(user.id, user);
    const token = randomToken('gho_');
    this.oauthTokens.set(token, { userId: user.id, scopes, clientId: this.clientId });
    return token;
  }

  addInstallation(input: AddInstallationInput): FakeInstallation {
    if (this.installations.has(input.id)) throw new Error(`installation ${input.id} exists`);
    const installation: FakeInstallation = {
      id: input.id,
      account: { ...input.account },
      repositories: [...(input.repositories ?? [])],
      suspended: input.suspended ?? false,
      repositorySelection: input.repositorySelection ?? 'selected',
      permissions: { ...(input.permissions ?? DEFAULT_INSTALLATION_PERMISSIONS) },
      events: [...(input.events ?? DEFAULT_INSTALLATION_EVENTS)],
      admins: [...(input.admins ?? [])],
    };
    this.installations.set(input.id, installation);
    return installation;
  }

  installation(id: number): FakeInstallation | undefined {
    return this.installations.get(id);
  }

  private requireInstallation(id: number): FakeInstallation {
    const installation = this.installations.get(id);
    if (!installation) throw new Error(`no installation ${id}`);
    return installation;
  }

  removeInstallation(id: number): void {
    this.installations.delete(id);
  }

  suspendInstallation(id: number): void {
    this.requireInstallation(id).suspended = true;
  }

  unsuspendInstallation(id: number): void {
    this.requireInstallation(id).suspended = false;
  }

  grant(installationId: number, fullName: string): void {
    const installation = this.requireInstallation(installationId);
    if (!this.isGranted(installation, fullName)) installation.repositories.push(fullName);
  }

  revoke(installationId: number, fullName: string): void {
    const installation = this.requireInstallation(installationId);
    installation.repositories = installation.repositories.filter(
      (name) => name.toLowerCase() !== fullName.toLowerCase(),
    );
  }

  addRepository(fullName: string, options: AddRepositoryOptions = {}): FakeRepository {
    const { owner } = splitFullName(fullName);
    if (this.repos.has(fullName.toLowerCase())) throw new Error(`repository ${fullName} exists`);
    const defaultBranch = options.defaultBranch ?? 'main';
    assertRefName(defaultBranch);
    const id = options.id ?? this.nextRepoId++;
    const account =
      options.owner ??
      [...this.installations.values()].find(
        (i) => i.account.login.toLowerCase() === owner.toLowerCase(),
      )?.account ??
      ({ login: owner, id: stableId(owner), type: 'Organization' } satisfies AccountInput);
    const relativePath = `${id}-${fullName.replace('/', '--')}.git`;
    const repo = new Repository(
      this,
      id,
      fullName,
      defaultBranch,
      options.private ?? true,
      account,
      relativePath,
    );
    execFileSync('git', ['init', '--bare', '-q', '-b', defaultBranch, repo.path], {
      env: gitEnv(),
    });
    execFileSync(
      'git',
      ['--git-dir', repo.path, 'config', 'uploadpack.allowAnySHA1InWant', 'true'],
      { env: gitEnv() },
    );
    this.repos.set(fullName.toLowerCase(), repo);
    return repo;
  }

  repository(fullName: string): FakeRepository | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  renameRepository(fullName: string, newFullName: string): FakeRepository {
    const repo = this.repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`no repository ${fullName}`);
    const { owner } = splitFullName(newFullName);
    if (
      newFullName.toLowerCase() !== fullName.toLowerCase() &&
      this.repos.has(newFullName.toLowerCase())
    ) {
      throw new Error(`repository ${newFullName} exists`);
    }
    this.repos.delete(fullName.toLowerCase());
    repo.fullName = newFullName;
    if (owner.toLowerCase() !== repo.owner.login.toLowerCase()) {
      repo.owner = [...this.installations.values()].find(
        (i) => i.account.login.toLowerCase() === owner.toLowerCase(),
      )?.account ?? { login: owner, id: stableId(owner), type: 'Organization' };
    }
    this.repos.set(newFullName.toLowerCase(), repo);
    for (const installation of this.installations.values()) {
      installation.repositories = installation.repositories.map((name) =>
        name.toLowerCase() === fullName.toLowerCase() ? newFullName : name,
      );
    }
    return repo;
  }

  removeRepository(fullName: string): void {
    const repo = this.repos.get(fullName.toLowerCase());
    if (!repo) return;
    this.repos.delete(fullName.toLowerCase());
    for (const installation of this.installations.values()) {
      installation.repositories = installation.repositories.filter(
        (name) => name.toLowerCase() !== fullName.toLowerCase(),
      );
    }
    rmSync(repo.path, { recursive: true, force: true });
  }

  expireToken(token: string): void {
    const minted = this.tokens.get(token);
    if (!minted) throw new Error('unknown token');
    minted.expiresAt = new Date(Date.now() - 1000);
  }

  cloneUrl(fullName: string, token?: string): string {
    const url = new URL(`${this.url}/${fullName}.git`);
    if (token !== undefined) {
      url.username = 'x-access-token';
      url.password = token;
    }
    return url.toString();
  }

  // -- access ----------------------------------------------------------------

  private isGranted(installation: FakeInstallation, fullName: string): boolean {
    return installation.repositories.some((name) => name.toLowerCase() === fullName.toLowerCase());
  }

  /** An installation token's standing, before looking at any repository. */
  private checkToken(token: string): Access {
    const minted = this.tokens.get(token);
    if (!minted) return { ok: false, reason: 'unknown token', status: 401 };
    if (minted.revoked) return { ok: false, reason: 'token revoked', status: 401 };
    if (minted.expiresAt.getTime() <= Date.now()) {
      return { ok: false, reason: 'token expired', status: 401 };
    }
    const installation = this.installations.get(minted.installationId);
    if (!installation) return { ok: false, reason: 'installation deleted', status: 401 };
    if (installation.suspended) {
      return { ok: false, reason: 'installation suspended', status: 403 };
    }
    return { ok: true, minted, installation };
  }

  private canSee(
    minted: MintedToken,
    installation: FakeInstallation,
    repo: Repository,
  ): string | null {
    if (!this.isGranted(installation, repo.fullName)) {
      return 'repository not granted to the installation';
    }
    if (minted.repositoryIds && !minted.repositoryIds.includes(repo.id)) {
      return 'repository outside the token scope';
    }
    return null;
  }

  /** The repositories a token reaches (registered, granted, and in its scope). */
  private visibleRepos(minted: MintedToken, installation: FakeInstallation): Repository[] {
    const out: Repository[] = [];
    for (const name of installation.repositories) {
      const repo = this.repos.get(name.toLowerCase());
      if (repo && !this.canSee(minted, installation, repo)) out.push(repo);
    }
    return out;
  }

  private installationJson(installation: FakeInstallation) {
    return installationObject(installation, {
      server: this,
      appId: this.appId,
      appSlug: this.appSlug,
    });
  }

  private repoJson(repo: Repository) {
    return repositoryObject(repo, this);
  }

  // -- request handling ------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', this.url);
      const body = await readBody(req);
      this.record(req, url, body);
      const path = url.pathname;
      if (path === '/api/v3' || path.startsWith('/api/v3/')) {
        await this.handleApi(req, res, url, body, path.slice('/api/v3'.length) || '/');
        return;
      }
      if (path === '/login/oauth/authorize' && req.method === 'GET') {
        this.authorize(res, url);
        return;
      }
      if (path === '/login/oauth/access_token' && req.method === 'POST') {
        this.accessToken(req, res, url, body);
        return;
      }
      if (path === '/login' && req.method === 'GET') {
        sendHtml(res, 200, 'Sign in to GitHub', 'Nobody is signed in: call fake.signInAs(user).');
        return;
      }
      const gitMatch =
        /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(path);
      if (gitMatch) {
        await this.handleGit(req, res, url, body, {
          owner: decodeURIComponent(gitMatch[1]!),
          name: decodeURIComponent(gitMatch[2]!),
          action: gitMatch[3]!,
        });
        return;
      }
      sendHtml(res, 404, 'Page not found', `${req.method} ${path}`);
    } catch (error) {
      if (!res.headersSent) {
        apiError(res, 500, error instanceof Error ? error.message : String(error));
      } else {
        res.destroy();
      }
    }
  }

  private record(req: IncomingMessage, url: URL, body: Buffer): void {
    const headers = headerRecord(req.headers);
    if (headers.authorization) headers.authorization = headers.authorization.split(/\s/)[0]!;
    const type = headers['content-type'] ?? '';
    const text =
      body.length === 0
        ? ''
        : headers['content-encoding'] || !/json|x-www-form-urlencoded|text/.test(type)
          ? `<${body.length} bytes>`
          : body.toString('utf8');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      pathname: url.pathname,
      headers,
      body: text,
    });
  }

  // -- OAuth -------------------------------------------------------------------

  private authorize(res: ServerResponse, url: URL): void {
    const q = url.searchParams;
    const clientId = q.get('client_id');
    if (clientId !== this.clientId) {
      sendHtml(res, 404, 'Page not found', 'Unknown OAuth application (client_id).');
      return;
    }
    const state = q.get('state') ?? undefined;
    const redirectUri = q.get('redirect_uri') ?? this.callbackUrl;
    if (!redirectUri) {
      sendHtml(res, 400, 'Bad request', 'No redirect_uri and no registered callback URL.');
      return;
    }
    try {
      new URL(redirectUri);
    } catch {
      sendHtml(res, 400, 'Bad request', `Invalid redirect_uri: ${redirectUri}`);
      return;
    }
    if (this.callbackUrl && !sameCallback(this.callbackUrl, redirectUri)) {
      redirect(
        res,
        withQuery(this.callbackUrl, {
          error: 'redirect_uri_mismatch',
          error_description:
            'The redirect_uri MUST match the registered callback URL for this application.',
          error_uri:
            'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch',
          state,
        }),
      );
      return;
    }
    const user = this.signedIn;
    if (!user) {
      redirect(
        res,
        withQuery(`${this.url}/login`, {
          client_id: clientId,
          return_to: url.pathname + url.search,
        }),
      );
      return;
    }
    if (this.denying) {
      redirect(
        res,
        withQuery(redirectUri, {
          error: 'access_denied',
          error_description: 'The user has denied your application access.',
          error_uri:
            'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied',
          state,
        }),
      );
      return;
    }
    const code = randomBytes(10).toString('hex');
    this.codes.set(code, {
      userId: user.id,
      clientId,
      redirectUri,
      scopes: (q.get('scope') ?? '').split(/[\s,]+/).filter(Boolean),
      used: false,
      expiresAt: Date.now() + 10 * 60 * 1000,
    });
    redirect(res, withQuery(redirectUri, { code, state }));
  }

  private accessToken(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const params = new Map<string, string>();
    for (const [key, value] of url.searchParams) params.set(key, value);
    const text = body.toString('utf8');
    if ((req.headers['content-type'] ?? '').includes('json')) {
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = {};
      }
      if (isRecord(parsed)) {
        for (const [key, value] of Object.entries(parsed)) {
          if (typeof value === 'string' || typeof value === 'number')
            params.set(key, String(value));
        }
      }
    } else {
      for (const [key, value] of new URLSearchParams(text)) params.set(key, value);
    }
    const basic = parseBasic(req);
    const clientId = params.get('client_id') ?? basic?.username;
    const clientSecret = params.get('client_secret') ?? basic?.password;

    const json = (req.headers.accept ?? '').includes('application/json');
    const answer = (fields: Record<string, string>) => {
      if (json) {
        sendJson(res, 200, fields);
      } else {
        const encoded = new URLSearchParams(fields).toString();
        res.writeHead(200, {
          'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
          'Content-Length': Buffer.byteLength(encoded),
        });
        res.end(encoded);
      }
    };
    const troubleshooting =
      'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

    if (clientId !== this.clientId || clientSecret !== this.clientSecret) {
      answer({
        error: 'incorrect_client_credentials',
        error_description: 'The client_id and/or client_secret passed are incorrect.',
        error_uri: `${troubleshooting}/#incorrect-client-credentials`,
      });
      return;
    }
    const code = params.get('code') ?? '';
    const issued = this.codes.get(code);
    if (!issued || issued.used || issued.expiresAt <= Date.now() || issued.clientId !== clientId) {
      answer({
        error: 'bad_verification_code',
        error_description: 'The code passed is incorrect or expired.',
        error_uri: `${troubleshooting}/#bad-verification-code`,
      });
      return;
    }
    const redirectUri = params.get('redirect_uri');
    if (redirectUri !== undefined && redirectUri !== issued.redirectUri) {
      answer({
        error: 'redirect_uri_mismatch',
        error_description:
          'The redirect_uri MUST match the registered callback URL for this application.',
        error_uri: `${troubleshooting}/#redirect-uri-mismatch2`,
      });
      return;
    }
    issued.used = true;
    const token = randomToken('gho_');
    this.oauthTokens.set(token, {
      userId: issued.userId,
      scopes: issued.scopes,
      clientId: issued.clientId,
    });
    answer({ access_token: token, token_type: 'bearer', scope: issued.scopes.join(',') });
  }

  // -- REST API ----------------------------------------------------------------

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
    path: string,
  ): Promise<void> {
    const route = `${req.method} ${path.replace(/\/$/, '') || '/'}`;
    let m: RegExpExecArray | null;

    if (route === 'GET /user' || route === 'GET /user/emails') {
      this.userEndpoint(req, res, route === 'GET /user/emails');
      return;
    }
    if (route === 'GET /user/installations') {
      this.userInstallations(req, res, url);
      return;
    }

    // App (JWT) endpoints.
    if (route === 'GET /app') {
      if (!this.requireAppJwt(req, res)) return;
      sendJson(res, 200, this.appJson());
      return;
    }
    if (route === 'GET /app/installations') {
      if (!this.requireAppJwt(req, res)) return;
      const all = [...this.installations.values()].map((i) => this.installationJson(i));
      this.sendPage(res, url, all, (items) => items);
      return;
    }
    if ((m = /^GET \/app\/installations\/(\d+)$/.exec(route))) {
      if (!this.requireAppJwt(req, res)) return;
      const installation = this.installations.get(Number(m[1]));
      if (!installation) {
        apiError(res, 404, 'Not Found');
        return;
      }
      sendJson(res, 200, this.installationJson(installation));
      return;
    }
    if ((m = /^POST \/app\/installations\/(\d+)\/access_tokens$/.exec(route))) {
      if (!this.requireAppJwt(req, res)) return;
      this.mintToken(res, Number(m[1]), body);
      return;
    }
    if ((m = /^GET \/repos\/([^/]+)\/([^/]+)\/installation$/.exec(route))) {
      if (!this.requireAppJwt(req, res)) return;
      const fullName = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const repo = this.repos.get(fullName.toLowerCase());
      const installation = repo
        ? [...this.installations.values()].find((i) => this.isGranted(i, repo.fullName))
        : undefined;
      if (!installation) {
        apiError(res, 404, 'Not Found');
        return;
      }
      sendJson(res, 200, this.installationJson(installation));
      return;
    }
    if ((m = /^GET \/(orgs|users)\/([^/]+)\/installation$/.exec(route))) {
      if (!this.requireAppJwt(req, res)) return;
      const login = decodeURIComponent(m[2]!).toLowerCase();
      const type = m[1] === 'orgs' ? 'Organization' : 'User';
      const installation = [...this.installations.values()].find(
        (i) => i.account.login.toLowerCase() === login && i.account.type === type,
      );
      if (!installation) {
        apiError(res, 404, 'Not Found');
        return;
      }
      sendJson(res, 200, this.installationJson(installation));
      return;
    }

    // Installation-token endpoints.
    if (route === 'GET /installation/repositories') {
      const access = this.requireInstallationToken(req, res);
      if (!access) return;
      const repos = this.visibleRepos(access.minted, access.installation).map((r) =>
        this.repoJson(r),
      );
      const selection = access.minted.repositoryIds
        ? 'selected'
        : access.installation.repositorySelection;
      this.sendPage(res, url, repos, (items, total) => ({
        total_count: total,
        repository_selection: selection,
        repositories: items,
      }));
      return;
    }
    if (route === 'DELETE /installation/token') {
      const access = this.requireInstallationToken(req, res);
      if (!access) return;
      access.minted.revoked = true;
      res.writeHead(204);
      res.end();
      return;
    }
    if ((m = /^GET \/repos\/([^/]+)\/([^/]+)(?:\/(branches|commits)(?:\/(.+))?)?$/.exec(route))) {
      const fullName = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const access = this.requireInstallationToken(req, res);
      if (!access) return;
      const repo = this.repos.get(fullName.toLowerCase());
      if (!repo || this.canSee(access.minted, access.installation, repo)) {
        apiError(res, 404, 'Not Found');
        return;
      }
      const kind = m[3];
      const rest = m[4] === undefined ? undefined : decodeURIComponent(m[4]);
      if (kind === undefined) {
        sendJson(res, 200, {
          ...this.repoJson(repo),
          permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
        });
      } else if (kind === 'branches' && rest === undefined) {
        const branches = await repo.branches();
        const out = [];
        for (const name of branches) {
          const sha = (await repo.headSha(name))!;
          out.push({
            name,
            commit: { sha, url: `${this.apiUrl}/repos/${repo.fullName}/commits/${sha}` },
            protected: false,
          });
        }
        this.sendPage(res, url, out, (items) => items);
      } else if (kind === 'branches') {
        const sha = await repo.headSha(rest!);
        if (!sha) {
          apiError(res, 404, 'Branch not found');
          return;
        }
        const commit = await this.commitJson(repo, sha);
        const branchUrl = `${this.apiUrl}/repos/${repo.fullName}/branches/${rest!}`;
        sendJson(res, 200, {
          name: rest,
          commit,
          _links: { self: branchUrl, html: `${this.url}/${repo.fullName}/tree/${rest!}` },
          protected: false,
          protection: {
            enabled: false,
            required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] },
          },
          protection_url: `${branchUrl}/protection`,
        });
      } else if (rest === undefined) {
        apiError(res, 404, 'Not Found');
      } else {
        if ((await repo.branches()).length === 0) {
          apiError(res, 409, 'Git Repository is empty.');
          return;
        }
        const sha = await repo.resolve(rest);
        if (!sha) {
          apiError(res, 422, `No commit found for SHA: ${rest}`);
          return;
        }
        if (/application\/vnd\.github(?:\.v3)?\.sha/.test(req.headers.accept ?? '')) {
          sendText(res, 200, sha, {
            'Content-Type': 'application/vnd.github.sha; charset=utf-8',
          });
          return;
        }
        sendJson(res, 200, await this.commitJson(repo, sha));
      }
      return;
    }

    apiError(res, 404, 'Not Found');
  }

  private sendPage<T>(
    res: ServerResponse,
    url: URL,
    all: T[],
    wrap: (items: T[], total: number) => unknown,
  ): void {
    const perPage = Math.min(
      Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1),
      100,
    );
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(all.length / perPage), 1);
    const items = all.slice((page - 1) * perPage, page * perPage);
    const link = (n: number, rel: string) => {
      const target = new URL(url.pathname + url.search, this.url);
      target.searchParams.set('per_page', String(perPage));
      target.searchParams.set('page', String(n));
      return `<${target.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < last) links.push(link(page + 1, 'next'));
    if (page < last) links.push(link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    sendJson(res, 200, wrap(items, all.length), links.length ? { Link: links.join(', ') } : {});
  }

  private async commitJson(repo: Repository, sha: string) {
    const info = await repo.commitInfo(sha);
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const html = `${this.url}/${repo.fullName}`;
    return {
      sha: info.sha,
      node_id: Buffer.from(`06:Commit${repo.id}:${info.sha}`).toString('base64'),
      commit: {
        author: info.author,
        committer: info.committer,
        message: info.message,
        tree: { sha: info.tree, url: `${api}/git/trees/${info.tree}` },
        url: `${api}/git/commits/${info.sha}`,
        comment_count: 0,
        verification: {
          verified: false,
          reason: 'unsigned',
          signature: null,
          payload: null,
          verified_at: null,
        },
      },
      url: `${api}/commits/${info.sha}`,
      html_url: `${html}/commit/${info.sha}`,
      comments_url: `${api}/commits/${info.sha}/comments`,
      author: null,
      committer: null,
      parents: info.parents.map((p) => ({
        sha: p,
        url: `${api}/commits/${p}`,
        html_url: `${html}/commit/${p}`,
      })),
      files: info.files,
    };
  }

  private appJson() {
    const owner = { login: 'meltano-cloud-test-owner', id: 9000001, type: 'Organization' as const };
    return {
      id: this.appId,
      slug: this.appSlug,
      client_id: 'Iv23liFakeGitHubApp',
      node_id: nodeId('Integration', this.appId),
      owner: accountObject(owner, this),
      name: this.appName,
      description: 'Fake GitHub App for tests',
      external_url: 'https://example.com',
      html_url: `${this.url}/apps/${this.appSlug}`,
      created_at: '2024-01-15T10:00:00Z',
      updated_at: '2024-01-15T10:00:00Z',
      permissions: DEFAULT_INSTALLATION_PERMISSIONS,
      events: DEFAULT_INSTALLATION_EVENTS,
      installations_count: this.installations.size,
    };
  }

  /** The user and grant behind a user's OAuth token; answers 401/403 and returns undefined otherwise. */
  private oauthUser(req: IncomingMessage, res: ServerResponse) {
    const auth = parseAuthorization(req);
    if (!auth || (auth.scheme !== 'bearer' && auth.scheme !== 'token')) {
      apiError(res, 401, 'Requires authentication');
      return undefined;
    }
    if (this.tokens.has(auth.credentials)) {
      apiError(res, 403, 'Resource not accessible by integration');
      return undefined;
    }
    const grant = this.oauthTokens.get(auth.credentials);
    const user = grant ? this.users.get(grant.userId) : undefined;
    if (!grant || !user) {
      apiError(res, 401, 'Bad credentials');
      return undefined;
    }
    return { grant, user };
  }

  private userEndpoint(req: IncomingMessage, res: ServerResponse, emails: boolean): void {
    const signedIn = this.oauthUser(req, res);
    if (!signedIn) return;
    const { grant, user } = signedIn;
    const headers = {
      'X-OAuth-Scopes': grant.scopes.join(', '),
      'X-Accepted-OAuth-Scopes': emails ? 'user, user:email' : '',
      'X-OAuth-Client-Id': grant.clientId,
    };
    if (!emails) {
      sendJson(res, 200, userObject(user, this), headers);
      return;
    }
    if (!grant.scopes.includes('user') && !grant.scopes.includes('user:email')) {
      apiError(res, 404, 'Not Found');
      return;
    }
    sendJson(
      res,
      200,
      user.email
        ? [{ email: user.email, primary: true, verified: true, visibility: 'public' }]
        : [],
      headers,
    );
  }

  /** Installations the OAuth token's user may administer: on their own account, or as an admin. */
  private userInstallations(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const signedIn = this.oauthUser(req, res);
    if (!signedIn) return;
    const { user } = signedIn;
    const login = user.login.toLowerCase();
    const mine = [...this.installations.values()]
      .filter(
        (i) =>
          (i.account.type === 'User' && i.account.login.toLowerCase() === login) ||
          i.admins.some((admin) => admin.toLowerCase() === login),
      )
      .map((i) => this.installationJson(i));
    this.sendPage(res, url, mine, (items, total) => ({
      total_count: total,
      installations: items,
    }));
  }

  /** Checks the App JWT; answers 401 and returns false when it is not valid. */
  private requireAppJwt(req: IncomingMessage, res: ServerResponse): boolean {
    const problem = this.appJwtProblem(req);
    if (problem) apiError(res, 401, problem);
    return !problem;
  }

  private appJwtProblem(req: IncomingMessage): string | null {
    const undecodable = 'A JSON web token could not be decoded';
    const auth = parseAuthorization(req);
    if (!auth || auth.scheme !== 'bearer') return undecodable;
    const parts = auth.credentials.split('.');
    if (parts.length !== 3) return undecodable;
    const [head, claims, signature] = parts as [string, string, string];
    let header: unknown;
    let payload: unknown;
    try {
      header = base64UrlJson(head);
      payload = base64UrlJson(claims);
    } catch {
      return undecodable;
    }
    if (!isRecord(header) || header.alg !== 'RS256' || !isRecord(payload)) return undecodable;
    const valid = verifySignature(
      'RSA-SHA256',
      Buffer.from(`${head}.${claims}`),
      this.publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!valid) return undecodable;
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp, iss } = payload;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > now + 60) {
      return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
    }
    if (typeof exp !== 'number' || exp <= now) {
      return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    }
    if (exp - now > 600 + 60 || exp - iat > 600 + 60) {
      return "'Expiration time' claim ('exp') is too far in the future";
    }
    if (String(iss) !== String(this.appId)) return 'Integration not found';
    return null;
  }

  /** The installation behind an installation token; answers 401/403 and returns null when bad. */
  private requireInstallationToken(
    req: IncomingMessage,
    res: ServerResponse,
  ): { minted: MintedToken; installation: FakeInstallation } | null {
    const auth = parseAuthorization(req);
    if (!auth || (auth.scheme !== 'bearer' && auth.scheme !== 'token')) {
      apiError(res, 401, 'Requires authentication');
      return null;
    }
    if (this.oauthTokens.has(auth.credentials)) {
      apiError(res, 403, 'This endpoint needs an installation access token (fake GitHub)');
      return null;
    }
    const access = this.checkToken(auth.credentials);
    if (!access.ok) {
      apiError(
        res,
        access.status,
        access.status === 403 ? 'This installation has been suspended' : 'Bad credentials',
      );
      return null;
    }
    return access;
  }

  private mintToken(res: ServerResponse, installationId: number, body: Buffer): void {
    const installation = this.installations.get(installationId);
    if (!installation) {
      apiError(res, 404, 'Not Found');
      return;
    }
    if (installation.suspended) {
      apiError(res, 403, 'This installation has been suspended');
      return;
    }
    let request: unknown;
    try {
      const text = body.toString('utf8');
      request = text ? JSON.parse(text) : {};
    } catch {
      apiError(res, 400, 'Problems parsing JSON');
      return;
    }
    if (!isRecord(request)) request = {};
    const {
      repositories,
      repository_ids: repositoryIds,
      permissions,
    } = request as {
      repositories?: unknown;
      repository_ids?: unknown;
      permissions?: unknown;
    };
    const inaccessible = () =>
      apiError(
        res,
        422,
        'There is at least one repository that does not exist or is not accessible to the parent installation.',
      );

    let scoped: Repository[] | null = null;
    if (repositories !== undefined || repositoryIds !== undefined) {
      scoped = [];
      const names = Array.isArray(repositories) ? (repositories as unknown[]) : [];
      const ids = Array.isArray(repositoryIds) ? (repositoryIds as unknown[]) : [];
      for (const name of names) {
        if (typeof name !== 'string') return inaccessible();
        const fullName = name.includes('/') ? name : `${installation.account.login}/${name}`;
        const repo = this.repos.get(fullName.toLowerCase());
        if (!repo || !this.isGranted(installation, repo.fullName)) return inaccessible();
        scoped.push(repo);
      }
      for (const id of ids) {
        const repo = [...this.repos.values()].find((r) => r.id === Number(id));
        if (!repo || !this.isGranted(installation, repo.fullName)) return inaccessible();
        scoped.push(repo);
      }
      scoped = [...new Set(scoped)];
    }

    let granted = installation.permissions;
    if (permissions !== undefined) {
      if (!isRecord(permissions)) {
        apiError(res, 422, 'Invalid request.');
        return;
      }
      const order = ['read', 'write', 'admin'];
      granted = {};
      for (const [name, level] of Object.entries(permissions)) {
        const has = installation.permissions[name];
        if (
          typeof level !== 'string' ||
          has === undefined ||
          order.indexOf(level) < 0 ||
          order.indexOf(level) > order.indexOf(has)
        ) {
          apiError(res, 422, 'The permissions requested are not granted to this installation.');
          return;
        }
        granted[name] = level;
      }
    }

    const now = Date.now();
    const minted: MintedToken = {
      token: randomToken('ghs_'),
      installationId,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.tokenTtlMs),
      repositoryIds: scoped ? scoped.map((r) => r.id) : null,
      repositories: scoped ? scoped.map((r) => r.fullName) : null,
      permissions: granted,
      revoked: false,
    };
    this.tokens.set(minted.token, minted);
    this.mintedTokens.push(minted);
    sendJson(res, 201, {
      token: minted.token,
      expires_at: isoSeconds(minted.expiresAt),
      permissions: granted,
      repository_selection: scoped ? 'selected' : installation.repositorySelection,
      ...(scoped ? { repositories: scoped.map((r) => this.repoJson(r)) } : {}),
    });
  }

  // -- git smart HTTP ----------------------------------------------------------

  private async handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
    target: { owner: string; name: string; action: string },
  ): Promise<void> {
    const fullName = `${target.owner}/${target.name}`;
    const service =
      target.action === 'info/refs' ? (url.searchParams.get('service') ?? '') : target.action;
    if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
      sendText(res, 403, 'Please upgrade your git client (smart HTTP only).\n');
      return;
    }
    const credentials = parseBasic(req);
    let installationId: number | null = null;
    let reason: string | null;
    let repo: Repository | undefined;
    if (!credentials) {
      reason = 'no credentials';
    } else {
      const access = this.checkToken(credentials.password);
      if (!access.ok) {
        reason = access.reason;
        installationId = this.tokens.get(credentials.password)?.installationId ?? null;
      } else {
        installationId = access.installation.id;
        repo = this.repos.get(fullName.toLowerCase());
        reason = repo
          ? this.canSee(access.minted, access.installation, repo)
          : 'repository not found';
      }
    }
    if (target.action === 'info/refs') {
      this.cloneAttempts.push({
        repo: fullName,
        service,
        credentials: !!credentials,
        authorized: reason === null,
        installationId,
        reason,
        at: new Date(),
      });
    }
    if (reason !== null || !repo) {
      sendText(res, 401, `Invalid username or token. (${reason ?? 'refused'})\n`, {
        'WWW-Authenticate': 'Basic realm="GitHub"',
      });
      return;
    }
    if (service === 'git-receive-pack') {
      sendText(res, 403, `Permission to ${repo.fullName}.git denied (read-only fake).\n`);
      return;
    }
    let input = body;
    if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
      input = gunzipSync(body);
    }
    await this.httpBackend(req, res, repo, target.action, url.search.slice(1), input);
  }

  private httpBackend(
    req: IncomingMessage,
    res: ServerResponse,
    repo: Repository,
    action: string,
    query: string,
    body: Buffer,
  ): Promise<void> {
    return new Promise((resolve) => {
      const protocol = req.headers['git-protocol'];
      const child = spawn('git', ['http-backend'], {
        env: gitEnv({
          GIT_PROJECT_ROOT: this.gitRoot,
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: `/${repo.relativePath}/${action}`,
          QUERY_STRING: query,
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: String(body.length),
          REMOTE_USER: 'x-access-token',
          REMOTE_ADDR: '127.0.0.1',
          ...(typeof protocol === 'string' ? { GIT_PROTOCOL: protocol } : {}),
        }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let head = Buffer.alloc(0);
      let started = false;
      const stderr: Buffer[] = [];
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdout.on('data', (chunk: Buffer) => {
        if (started) {
          if (!res.write(chunk)) {
            child.stdout.pause();
            res.once('drain', () => child.stdout.resume());
          }
          return;
        }
        head = Buffer.concat([head, chunk]);
        const crlf = head.indexOf('\r\n\r\n');
        const lf = head.indexOf('\n\n');
        const end =
          crlf >= 0 && (lf < 0 || crlf < lf)
            ? { at: crlf, len: 4 }
            : lf >= 0
              ? { at: lf, len: 2 }
              : null;
        if (!end) return;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') status = parseInt(value, 10) || 200;
          else headers[name] = value;
        }
        res.writeHead(status, headers);
        started = true;
        const rest = head.subarray(end.at + end.len);
        if (rest.length) res.write(rest);
      });
      let finished = false;
      child.on('error', (error) => {
        if (finished) return;
        finished = true;
        if (!res.headersSent) sendText(res, 500, `git http-backend failed: ${error.message}\n`);
        else res.destroy();
        resolve();
      });
      child.on('close', (code) => {
        if (finished) return;
        finished = true;
        if (!started) {
          sendText(
            res,
            500,
            `git http-backend exited ${code}: ${Buffer.concat(stderr).toString('utf8')}\n`,
          );
        } else {
          res.end();
        }
        resolve();
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(body);
    });
  }
}

/** Starts the fake on 127.0.0.1 (ephemeral port). Call `close()` when done. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const hub = new Hub(options);
  await hub.listen();
  return hub;
}
