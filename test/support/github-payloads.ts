/**
 * GitHub object and webhook-payload builders for tests, shaped like the
 * payloads GitHub sends to a GitHub App (field names from GitHub's REST and
 * webhook docs), plus the signature and headers of a delivery.
 *
 * The object builders (`accountObject`, `repositoryObject`,
 * `installationObject`, ...) are shared with the fake GitHub server
 * (test/support/fake-github.ts), so REST answers and webhook payloads agree.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';

/** Where the objects' URLs point: github.com by default, or a fake server (it has both fields). */
export interface GitHubServerUrls {
  webUrl: string;
  apiUrl: string;
}

export const GITHUB_COM: GitHubServerUrls = {
  webUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
};

/** The all-zero sha GitHub puts in `before` of a branch creation and `after` of a deletion. */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

export type AccountType = 'Organization' | 'User' | 'Bot';

export interface AccountInput {
  login: string;
  id: number;
  type?: AccountType;
  avatar_url?: string;
  name?: string | null;
  email?: string | null;
}

export interface RepositoryInput {
  id: number;
  /** `owner/name` */
  fullName: string;
  private?: boolean;
  defaultBranch?: string;
  /** Defaults to an Organization named after the first part of `fullName`. */
  owner?: AccountInput;
  description?: string | null;
  archived?: boolean;
}

export type RepositorySelection = 'all' | 'selected';

export interface InstallationInput {
  id: number;
  account: AccountInput;
  repositorySelection?: RepositorySelection;
  suspended?: boolean;
  permissions?: Record<string, string>;
  events?: string[];
}

/** The fields every payload builder accepts besides its own. */
export interface PayloadCommon {
  /** The user who caused the event (default: `octocat`, id 583231). */
  sender?: AccountInput;
  server?: GitHubServerUrls;
  appId?: number;
  appSlug?: string;
}

export const DEFAULT_SENDER: AccountInput = { login: 'octocat', id: 583231, type: 'User' };
export const DEFAULT_APP_ID = 424242;
export const DEFAULT_APP_SLUG = 'meltano-cloud-test';
export const DEFAULT_INSTALLATION_PERMISSIONS: Record<string, string> = {
  contents: 'read',
  metadata: 'read',
};
export const DEFAULT_INSTALLATION_EVENTS = ['push', 'repository'];

const FIXED_CREATED_AT = '2024-01-15T10:00:00Z';

/** A stable positive id derived from a name (for accounts given only by login). */
export function stableId(name: string): number {
  return createHash('sha1').update(name.toLowerCase()).digest().readUInt32BE(0) % 100_000_000;
}

/** GitHub's legacy global node id: base64 of `0<len>:<Type><id>`, e.g. `MDQ6VXNlcjE=` for user 1. */
export function nodeId(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

function splitFullName(fullName: string): { owner: string; name: string } {
  const [owner, name, ...rest] = fullName.split('/');
  if (!owner || !name || rest.length) throw new Error(`not an owner/name: ${fullName}`);
  return { owner, name };
}

function repositoryOwner(repo: RepositoryInput): AccountInput {
  if (repo.owner) return repo.owner;
  const { owner } = splitFullName(repo.fullName);
  return { login: owner, id: stableId(owner), type: 'Organization' };
}

/** A "simple user" (the shape of `owner`, `sender`, `account`, ...). */
export function accountObject(account: AccountInput, server: GitHubServerUrls = GITHUB_COM) {
  const type = account.type ?? 'User';
  const api = `${server.apiUrl}/users/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(type, account.id),
    avatar_url: account.avatar_url ?? `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `${server.webUrl}/${account.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false,
  };
}

export interface UserInput {
  id: number;
  login: string;
  name?: string | null;
  email?: string | null;
  avatar_url?: string;
}

/** The authenticated user as `GET /user` returns it. */
export function userObject(user: UserInput, server: GitHubServerUrls = GITHUB_COM) {
  return {
    ...accountObject({ ...user, type: 'User' }, server),
    name: user.name ?? null,
    company: null,
    blog: '',
    location: null,
    email: user.email ?? null,
    hireable: null,
    bio: null,
    twitter_username: null,
    notification_email: user.email ?? null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: FIXED_CREATED_AT,
    updated_at: FIXED_CREATED_AT,
    private_gists: 0,
    total_private_repos: 0,
    owned_private_repos: 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
    plan: { name: 'free', space: 976562499, collaborators: 0, private_repos: 10000 },
  };
}

/** The `{ id, node_id, name, full_name, private }` form used in installation payloads. */
export function repositoryBrief(repo: RepositoryInput) {
  const { name } = splitFullName(repo.fullName);
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name,
    full_name: repo.fullName,
    private: repo.private ?? true,
  };
}

/** A full repository object (`GET /repos/{owner}/{repo}`, `repository` in webhooks). */
export function repositoryObject(repo: RepositoryInput, server: GitHubServerUrls = GITHUB_COM) {
  const { name } = splitFullName(repo.fullName);
  const owner = repositoryOwner(repo);
  const api = `${server.apiUrl}/repos/${repo.fullName}`;
  const html = `${server.webUrl}/${repo.fullName}`;
  const host = new URL(server.webUrl).host;
  const isPrivate = repo.private ?? true;
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name,
    full_name: repo.fullName,
    private: isPrivate,
    owner: accountObject({ ...owner, type: owner.type ?? 'Organization' }, server),
    html_url: html,
    description: repo.description ?? null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    branches_url: `${api}/branches{/branch}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    hooks_url: `${api}/hooks`,
    pulls_url: `${api}/pulls{/number}`,
    tags_url: `${api}/tags`,
    trees_url: `${api}/git/trees{/sha}`,
    created_at: FIXED_CREATED_AT,
    updated_at: FIXED_CREATED_AT,
    pushed_at: FIXED_CREATED_AT,
    git_url: `git://${host}/${repo.fullName}.git`,
    ssh_url: `git@${host}:${repo.fullName}.git`,
    clone_url: `${html}.git`,
    svn_url: html,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: repo.archived ?? false,
    disabled: false,
    open_issues_count: 0,
    license: null,
    allow_forking: false,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [] as string[],
    visibility: isPrivate ? 'private' : 'public',
    forks: 0,
    open_issues: 0,
    watchers: 0,
    default_branch: repo.defaultBranch ?? 'main',
  };
}

export interface InstallationObjectOptions {
  server?: GitHubServerUrls;
  appId?: number;
  appSlug?: string;
  suspendedBy?: AccountInput | null;
  suspendedAt?: string | null;
}

/** The installation an event embeds, as the event's app (id, slug) on its server. */
const eventInstallation = (
  options: PayloadCommon & { installation: InstallationInput },
  server: GitHubServerUrls,
  extra: Pick<InstallationObjectOptions, 'suspendedAt' | 'suspendedBy'> = {},
) =>
  installationObject(options.installation, {
    server,
    appId: options.appId,
    appSlug: options.appSlug,
    ...extra,
  });

/** An installation as `GET /app/installations/{id}` returns it and webhooks embed it. */
export function installationObject(
  installation: InstallationInput,
  options: InstallationObjectOptions = {},
) {
  const server = options.server ?? GITHUB_COM;
  const account = { ...installation.account, type: installation.account.type ?? 'Organization' };
  const suspended =
    options.suspendedAt !== undefined ? !!options.suspendedAt : installation.suspended;
  return {
    id: installation.id,
    client_id: 'Iv23liFakeGitHubApp',
    account: accountObject(account, server),
    repository_selection: installation.repositorySelection ?? 'selected',
    access_tokens_url: `${server.apiUrl}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${server.apiUrl}/installation/repositories`,
    html_url:
      account.type === 'Organization'
        ? `${server.webUrl}/organizations/${account.login}/settings/installations/${installation.id}`
        : `${server.webUrl}/settings/installations/${installation.id}`,
    app_id: options.appId ?? DEFAULT_APP_ID,
    app_slug: options.appSlug ?? DEFAULT_APP_SLUG,
    target_id: account.id,
    target_type: account.type,
    permissions: installation.permissions ?? DEFAULT_INSTALLATION_PERMISSIONS,
    events: installation.events ?? DEFAULT_INSTALLATION_EVENTS,
    created_at: FIXED_CREATED_AT,
    updated_at: FIXED_CREATED_AT,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [] as string[],
    suspended_by: suspended
      ? accountObject(options.suspendedBy ?? DEFAULT_SENDER, server)
      : (null as ReturnType<typeof accountObject> | null),
    suspended_at: suspended ? (options.suspendedAt ?? FIXED_CREATED_AT) : null,
  };
}

function installationRef(installationId: number) {
  return { id: installationId, node_id: nodeId('IntegrationInstallation', installationId) };
}

// ---------------------------------------------------------------------------
// Webhook payloads

export type InstallationAction =
  'created' | 'deleted' | 'suspend' | 'unsuspend' | 'new_permissions_accepted';

/** `installation` event. `repositories` are the ones the installation can access. */
export function installationPayload(
  options: PayloadCommon & {
    action: InstallationAction;
    installation: InstallationInput;
    repositories?: RepositoryInput[];
  },
) {
  const server = options.server ?? GITHUB_COM;
  const sender = options.sender ?? DEFAULT_SENDER;
  const now = new Date().toISOString();
  const suspended =
    options.action === 'suspend'
      ? true
      : options.action === 'unsuspend'
        ? false
        : !!options.installation.suspended;
  return {
    action: options.action,
    installation: eventInstallation(options, server, {
      suspendedAt: suspended ? now : null,
      suspendedBy: sender,
    }),
    repositories: (options.repositories ?? []).map(repositoryBrief),
    requester: null,
    sender: accountObject(sender, server),
  };
}

/** `installation_repositories` event (repositories granted to or taken from an installation). */
export function installationRepositoriesPayload(
  options: PayloadCommon & {
    action: 'added' | 'removed';
    installation: InstallationInput;
    repositories: RepositoryInput[];
  },
) {
  const server = options.server ?? GITHUB_COM;
  const sender = options.sender ?? DEFAULT_SENDER;
  const brief = options.repositories.map(repositoryBrief);
  return {
    action: options.action,
    installation: eventInstallation(options, server),
    repository_selection: options.installation.repositorySelection ?? 'selected',
    repositories_added: options.action === 'added' ? brief : [],
    repositories_removed: options.action === 'removed' ? brief : [],
    requester: null,
    sender: accountObject(sender, server),
  };
}

export type RepositoryEventInput =
  /** `repository` is the renamed repository; `previousName` its name (not full name) before. */
  | { action: 'renamed'; repository: RepositoryInput; previousName: string }
  /** `repository` is under its new owner; `previousOwner` the account it came from. */
  | { action: 'transferred'; repository: RepositoryInput; previousOwner: AccountInput }
  | { action: 'deleted'; repository: RepositoryInput };

/** `repository` event (renamed / transferred / deleted), as delivered to an App installation. */
export function repositoryPayload(
  options: PayloadCommon & RepositoryEventInput & { installationId: number },
) {
  const server = options.server ?? GITHUB_COM;
  const sender = options.sender ?? DEFAULT_SENDER;
  const base = {
    repository: repositoryObject(options.repository, server),
    sender: accountObject(sender, server),
    installation: installationRef(options.installationId),
  };
  const owner = repositoryOwner(options.repository);
  const organization =
    (owner.type ?? 'Organization') === 'Organization'
      ? { organization: organizationObject(owner, server) }
      : {};
  switch (options.action) {
    case 'renamed':
      return {
        action: 'renamed' as const,
        changes: { repository: { name: { from: options.previousName } } },
        ...base,
        ...organization,
      };
    case 'transferred': {
      const from = options.previousOwner;
      const fromType = from.type ?? 'Organization';
      return {
        action: 'transferred' as const,
        changes: {
          owner: {
            from:
              fromType === 'Organization'
                ? { organization: organizationObject(from, server) }
                : { user: accountObject({ ...from, type: fromType }, server) },
          },
        },
        ...base,
        ...organization,
      };
    }
    case 'deleted':
      return { action: 'deleted' as const, ...base, ...organization };
  }
}

/** The `organization` object of webhook payloads. */
export function organizationObject(account: AccountInput, server: GitHubServerUrls = GITHUB_COM) {
  const api = `${server.apiUrl}/orgs/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId('Organization', account.id),
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: account.avatar_url ?? `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
    description: null,
  };
}

export interface PushCommitInput {
  /** The commit sha. */
  id: string;
  message?: string;
  added?: string[];
  modified?: string[];
  removed?: string[];
  timestamp?: string;
  author?: { name: string; email: string; username?: string };
  treeId?: string;
  distinct?: boolean;
}

export interface PushInput extends PayloadCommon {
  repository: RepositoryInput;
  installationId: number;
  /** `refs/heads/main`, or just a branch name (`main`). */
  ref: string;
  before: string;
  after: string;
  /** Oldest first, as GitHub lists them; the last one is `head_commit`. */
  commits?: PushCommitInput[];
  pusher?: { name: string; email: string | null };
  forced?: boolean;
  baseRef?: string | null;
}

/** `push` event. `created`/`deleted` follow from a zero `before`/`after`. */
export function pushPayload(options: PushInput) {
  const server = options.server ?? GITHUB_COM;
  const sender = options.sender ?? DEFAULT_SENDER;
  const ref = options.ref.startsWith('refs/') ? options.ref : `refs/heads/${options.ref}`;
  const html = `${server.webUrl}/${options.repository.fullName}`;
  const created = options.before === ZERO_SHA;
  const deleted = options.after === ZERO_SHA;
  const commits = (options.commits ?? []).map((c) => {
    const author = c.author ?? {
      name: sender.name ?? sender.login,
      email: sender.email ?? `${sender.id}+${sender.login}@users.noreply.github.com`,
      username: sender.login,
    };
    return {
      id: c.id,
      tree_id: c.treeId ?? createHash('sha1').update(`tree:${c.id}`).digest('hex'),
      distinct: c.distinct ?? true,
      message: c.message ?? 'Update files',
      timestamp: c.timestamp ?? new Date().toISOString(),
      url: `${html}/commit/${c.id}`,
      author,
      committer: author,
      added: c.added ?? [],
      removed: c.removed ?? [],
      modified: c.modified ?? [],
    };
  });
  const owner = repositoryOwner(options.repository);
  const ownerType = owner.type ?? 'Organization';
  const repository = repositoryObject(options.repository, server);
  const nowSeconds = Math.floor(Date.now() / 1000);
  return {
    ref,
    before: options.before,
    after: options.after,
    repository: {
      ...repository,
      owner: { ...repository.owner, name: owner.login, email: null },
      // Push payloads carry these two as Unix timestamps.
      created_at: Math.floor(Date.parse(repository.created_at) / 1000),
      pushed_at: nowSeconds,
      stargazers: 0,
      master_branch: repository.default_branch,
      ...(ownerType === 'Organization' ? { organization: owner.login } : {}),
    },
    pusher: options.pusher ?? {
      name: sender.login,
      email: sender.email ?? `${sender.id}+${sender.login}@users.noreply.github.com`,
    },
    ...(ownerType === 'Organization' ? { organization: organizationObject(owner, server) } : {}),
    installation: installationRef(options.installationId),
    sender: accountObject(sender, server),
    created,
    deleted,
    forced: options.forced ?? false,
    base_ref: options.baseRef ?? null,
    compare: created
      ? `${html}/commit/${options.after.slice(0, 12)}`
      : `${html}/compare/${options.before.slice(0, 12)}...${options.after.slice(0, 12)}`,
    commits,
    head_commit: deleted ? null : (commits[commits.length - 1] ?? null),
  };
}

// ---------------------------------------------------------------------------
// Deliveries

/** `X-Hub-Signature-256` of a body: `sha256=<hex HMAC-SHA256 with the webhook secret>`. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookHeaderOptions {
  hookId?: number;
  /** `X-GitHub-Hook-Installation-Target-ID`: the App id for App webhooks. */
  targetId?: number;
  targetType?: string;
}

/** The headers GitHub sends with a webhook delivery of `body`. */
export function webhookHeaders(
  event: string,
  deliveryId: string,
  body: string,
  secret: string,
  options: WebhookHeaderOptions = {},
): Record<string, string> {
  return {
    Accept: '*/*',
    'Content-Type': 'application/json',
    'User-Agent': 'GitHub-Hookshot/4b6a0c2',
    'X-GitHub-Delivery': deliveryId,
    'X-GitHub-Event': event,
    'X-GitHub-Hook-ID': String(options.hookId ?? 470_512_311),
    'X-GitHub-Hook-Installation-Target-ID': String(options.targetId ?? DEFAULT_APP_ID),
    'X-GitHub-Hook-Installation-Target-Type': options.targetType ?? 'integration',
    'X-Hub-Signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'X-Hub-Signature-256': signWebhook(secret, body),
  };
}

export interface WebhookDelivery {
  deliveryId: string;
  body: string;
  headers: Record<string, string>;
}

/** A whole delivery: the serialized payload and its signed headers. */
export function webhookDelivery(
  event: string,
  payload: unknown,
  secret: string,
  deliveryId: string = randomUUID(),
  options: WebhookHeaderOptions = {},
): WebhookDelivery {
  const body = JSON.stringify(payload);
  return { deliveryId, body, headers: webhookHeaders(event, deliveryId, body, secret, options) };
}
