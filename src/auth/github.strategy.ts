import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type Profile, type StrategyOptions } from 'passport-github2';
import { AppConfig } from '../config/app-config.js';
import { signPayload, verifyPayload, safeEqual } from '../common/signing.js';
import type { GithubIdentity } from './auth.service.js';

export const OAUTH_NONCE_COOKIE = 'mc_oauth_nonce';

export interface OAuthRequest {
  oauthNonce?: string;
  cookies: Record<string, string | undefined>;
  query: Record<string, unknown>;
}

/** What the sign-in should lead to, carried through GitHub inside the signed `state`. */
export interface SignInIntent {
  returnTo?: string;
}

/**
 * OAuth `state` without server-side sessions: an HMAC-signed, expiring value
 * bound to a nonce cookie set on the same browser, so a state minted for
 * one browser cannot complete a sign-in in another (login CSRF).
 */
export class SignedStateStore {
  constructor(private readonly secret: Buffer) {}

  store(
    req: OAuthRequest,
    appState: unknown,
    _meta: unknown,
    cb: (err: Error | null, state?: string) => void,
  ): void {
    if (!req.oauthNonce) return cb(new Error('sign-in nonce missing'));
    cb(null, signPayload(this.secret, { n: req.oauthNonce, s: appState ?? null }, 600));
  }

  verify(
    req: OAuthRequest,
    state: string,
    _meta: unknown,
    cb: (err: Error | null, ok: boolean, info?: unknown) => void,
  ): void {
    const payload = verifyPayload<{ n: string; s: unknown }>(this.secret, state);
    const nonce = req.cookies[OAUTH_NONCE_COOKIE];
    if (!payload || !nonce || !safeEqual(payload.n, nonce)) {
      return cb(null, false, {
        message: 'The sign-in link expired or was started in another browser. Try again.',
      });
    }
    cb(null, true, payload.s);
  }

  /** Reads the intent back on the callback (the signature was checked by verify()). */
  intentOf(state: unknown): SignInIntent {
    const payload =
      typeof state === 'string'
        ? verifyPayload<{ s: SignInIntent | null }>(this.secret, state)
        : null;
    return payload?.s ?? {};
  }
}

/** GitHub (or GitHub Enterprise Server) OAuth web flow; base URLs come from configuration. */
@Injectable()
export class GithubStrategy extends PassportStrategy(Strategy, 'github') {
  constructor(config: AppConfig, store: SignedStateStore) {
    const oauth = config.auth.githubOAuth;
    if (!oauth) throw new Error('GitHub sign-in is not configured');
    super({
      clientID: oauth.clientId,
      clientSecret: oauth.clientSecret,
      callbackURL: `${config.http.publicUrl}/auth/github/callback`,
      authorizationURL: `${config.github.webUrl}/login/oauth/authorize`,
      tokenURL: `${config.github.webUrl}/login/oauth/access_token`,
      userProfileURL: `${config.github.apiUrl}/user`,
      scope: ['read:user'],
      // passport-oauth2 accepts a custom state store; the typings do not list it.
      store,
    } as unknown as StrategyOptions);
  }

  validate(_accessToken: string, _refreshToken: string, profile: Profile): GithubIdentity {
    const json = (profile as Profile & { _json?: Record<string, unknown> })._json ?? {};
    return {
      id: profile.id,
      login: profile.username ?? (typeof json.login === 'string' ? json.login : ''),
      name: profile.displayName || (typeof json.name === 'string' ? json.name : null),
      email: typeof json.email === 'string' ? json.email : null,
      avatarUrl: typeof json.avatar_url === 'string' ? json.avatar_url : null,
    };
  }
}
