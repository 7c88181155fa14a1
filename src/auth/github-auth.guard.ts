import { HttpStatus, Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { ProblemException } from '../common/problem.js';
import { OAUTH_NONCE_COOKIE, type OAuthRequest } from './github.strategy.js';

/** Runs passport-github2: redirects to GitHub, or completes the callback. */
@Injectable()
export class GithubAuthGuard extends AuthGuard('github') {
  constructor(private readonly config: AppConfig) {
    super({ session: false });
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.config.auth.githubOAuth) {
      throw new ProblemException(
        HttpStatus.NOT_FOUND,
        'not-configured',
        'GitHub sign-in is not configured here.',
      );
    }
    const req = ctx.switchToHttp().getRequest<OAuthRequest>();
    if (typeof req.query.code !== 'string') {
      // Starting the flow: bind the state to this browser with a nonce cookie.
      req.oauthNonce = randomBytes(16).toString('base64url');
      void ctx
        .switchToHttp()
        .getResponse<FastifyReply>()
        .setCookie(OAUTH_NONCE_COOKIE, req.oauthNonce, {
          httpOnly: true,
          sameSite: 'lax',
          secure: this.config.isProduction,
          path: '/auth',
          maxAge: 600,
        });
    }
    return (await super.canActivate(ctx)) as boolean;
  }

  override getAuthenticateOptions(ctx: ExecutionContext): Record<string, unknown> {
    const req = ctx.switchToHttp().getRequest<OAuthRequest>();
    const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : undefined;
    return { session: false, state: { returnTo } };
  }

  override handleRequest<T>(err: unknown, user: T, info: unknown): T {
    if (err || !user) {
      const message =
        (info as { message?: string } | undefined)?.message ??
        (err instanceof Error ? err.message : 'Sign-in failed');
      throw new ProblemException(HttpStatus.UNAUTHORIZED, 'sign-in-failed', message);
    }
    return user;
  }
}
