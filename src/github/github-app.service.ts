import { HttpStatus, Injectable } from '@nestjs/common';
import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { ProblemException } from '../common/problem.js';

export interface InstallationInfo {
  id: number;
  accountLogin: string;
  accountType: string;
  suspended: boolean;
}

export interface InstallationRepository {
  id: number;
  fullName: string;
  defaultBranch: string | null;
  private: boolean;
}

/** A short-lived installation token: handed to one clone, never stored or logged. */
export interface RepositoryToken {
  token: string;
  expiresAt: Date;
}

/** GitHub answered with an error or could not be reached. */
export class GithubApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'GithubApiError';
  }
}

const statusOf = (err: unknown): number | null => {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : null;
};

/** Octokit's errors, without anything that could carry a credential. */
const wrap = (what: string, err: unknown): GithubApiError => {
  const status = statusOf(err);
  const reason = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 200) : String(err);
  return new GithubApiError(
    `${what} failed${status ? ` (GitHub answered ${status})` : ''}: ${reason}`,
    status,
  );
};

export const notConfigured = (): ProblemException =>
  new ProblemException(
    HttpStatus.NOT_FOUND,
    'github-app-not-configured',
    'The GitHub App is not configured on this server (GITHUB_APP_ID and friends).',
  );

const PER_PAGE = 100;

/**
 * The GitHub App: authenticates as the App (RS256 JWT) and as its
 * installations (short-lived tokens minted on demand and never cached, stored
 * or logged). `GITHUB_API_URL` points it at GitHub Enterprise Server.
 */
@Injectable()
export class GithubAppService {
  private readonly app: App | null;
  private readonly BaseOctokit: typeof Octokit;

  constructor(private readonly config: AppConfig) {
    this.BaseOctokit = Octokit.defaults({
      baseUrl: config.github.apiUrl,
      userAgent: 'meltano-cloud',
    });
    const settings = config.github.app;
    this.app = settings
      ? new App({
          appId: settings.appId,
          privateKey: settings.privateKey,
          webhooks: { secret: settings.webhookSecret },
          Octokit: this.BaseOctokit,
        })
      : null;
  }

  get configured(): boolean {
    return this.app !== null;
  }

  private required(): App {
    if (!this.app) throw notConfigured();
    return this.app;
  }

  /** Where an organization admin installs the App (GitHub then calls the setup URL with `state`). */
  installUrl(state: string): string {
    const settings = this.config.github.app;
    if (!settings) throw notConfigured();
    const url = new URL(
      `${this.config.github.webUrl}/apps/${encodeURIComponent(settings.slug)}/installations/new`,
    );
    url.searchParams.set('state', state);
    return url.toString();
  }

  /** The installation as the App sees it, or null when it does not exist (any more). */
  async installation(installationId: number): Promise<InstallationInfo | null> {
    const app = this.required();
    try {
      const { data } = await app.octokit.request('GET /app/installations/{installation_id}', {
        installation_id: installationId,
      });
      const account = (data.account ?? {}) as { login?: string; slug?: string; type?: string };
      return {
        id: data.id,
        accountLogin: account.login ?? account.slug ?? '',
        accountType: account.type ?? 'Enterprise',
        suspended: !!data.suspended_at,
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`Reading GitHub App installation ${installationId}`, err);
    }
  }

  /** Every repository the installation grants (all pages), through a token revoked afterwards. */
  async installationRepositories(installationId: number): Promise<InstallationRepository[]> {
    const app = this.required();
    let token: string;
    try {
      const { data } = await app.octokit.request(
        'POST /app/installations/{installation_id}/access_tokens',
        { installation_id: installationId, permissions: { metadata: 'read' } },
      );
      token = data.token;
    } catch (err) {
      throw wrap(`Listing the repositories of installation ${installationId}`, err);
    }
    const octokit = new this.BaseOctokit({ auth: token });
    const out: InstallationRepository[] = [];
    try {
      for (let page = 1; ; page++) {
        const { data } = await octokit.request('GET /installation/repositories', {
          per_page: PER_PAGE,
          page,
        });
        for (const repo of data.repositories) {
          out.push({
            id: Number(repo.id),
            fullName: repo.full_name,
            defaultBranch: repo.default_branch ?? null,
            private: repo.private,
          });
        }
        if (data.repositories.length < PER_PAGE || out.length >= data.total_count) break;
      }
    } catch (err) {
      throw wrap(`Listing the repositories of installation ${installationId}`, err);
    } finally {
      await octokit.request('DELETE /installation/token').catch(() => undefined);
    }
    return out;
  }

  /**
   * A token that can read the contents of ONE repository, for one clone.
   * Throws GithubApiError (status 403: suspended; 404/422: not granted any more).
   */
  async mintRepositoryToken(
    installationId: number,
    repositoryId: number,
  ): Promise<RepositoryToken> {
    const app = this.required();
    try {
      const { data } = await app.octokit.request(
        'POST /app/installations/{installation_id}/access_tokens',
        {
          installation_id: installationId,
          repository_ids: [repositoryId],
          permissions: { contents: 'read' },
        },
      );
      return { token: data.token, expiresAt: new Date(data.expires_at) };
    } catch (err) {
      throw wrap(`Minting a token for repository ${repositoryId}`, err);
    }
  }

  /** `X-Hub-Signature-256` of a webhook delivery, compared in constant time. */
  verifyWebhookSignature(rawBody: Buffer, header: string | undefined): boolean {
    const secret = this.config.github.app?.webhookSecret;
    if (!secret || !header?.startsWith('sha256=')) return false;
    const given = Buffer.from(header.slice('sha256='.length), 'hex');
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  // -- acting for a user (installation setup) ---------------------------------

  /**
   * Exchanges the code GitHub sends to the setup URL ("request user
   * authorization during installation") for a user token. Null when refused.
   */
  async exchangeUserCode(code: string): Promise<string | null> {
    const oauth = this.config.auth.githubOAuth;
    if (!oauth) return null;
    let res: Response;
    try {
      res = await fetch(`${this.config.github.webUrl}/login/oauth/access_token`, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_id: oauth.clientId,
          client_secret: oauth.clientSecret,
          code,
        }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw wrap('Exchanging the authorization code', err);
    }
    if (!res.ok) throw new GithubApiError('Exchanging the authorization code failed', res.status);
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
    return typeof body.access_token === 'string' ? body.access_token : null;
  }

  /** The GitHub user behind a user token. */
  async userOf(userToken: string): Promise<{ id: number; login: string }> {
    const octokit = new this.BaseOctokit({ auth: userToken });
    try {
      const { data } = await octokit.request('GET /user');
      return { id: Number(data.id), login: data.login };
    } catch (err) {
      throw wrap('Reading the GitHub user', err);
    }
  }

  /** Whether the user behind `userToken` may administer the installation (all pages). */
  async userCanAdminister(userToken: string, installationId: number): Promise<boolean> {
    const octokit = new this.BaseOctokit({ auth: userToken });
    try {
      let seen = 0;
      for (let page = 1; ; page++) {
        const { data } = await octokit.request('GET /user/installations', {
          per_page: PER_PAGE,
          page,
        });
        if (data.installations.some((i) => i.id === installationId)) return true;
        seen += data.installations.length;
        if (data.installations.length < PER_PAGE || seen >= data.total_count) return false;
      }
    } catch (err) {
      throw wrap('Listing the installations the GitHub user can administer', err);
    }
  }
}
