import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '../common/public.decorator.js';
import { ProblemException } from '../common/problem.js';
import { safeEqual } from '../common/signing.js';
import type { AuthenticatedRequest } from './actor.js';
import { AuthService } from './auth.service.js';
import { CSRF_HEADER, SESSION_COOKIE } from './credentials.js';
import { RateLimiter } from './rate-limiter.js';

const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Global guard: rate limits per IP and per credential, resolves the actor
 * from `Authorization: Bearer <token>` or the session cookie, and requires
 * the CSRF token for state-changing requests made with a cookie.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest & AuthenticatedRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = req.routeOptions.url ?? '';
    const isPublic =
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()]) ??
      false;
    if (!UNLIMITED_ROUTES.has(route)) await this.limit(reply, `ip:${req.ip}`);

    const authorization = req.headers.authorization;
    const sessionToken = req.cookies[SESSION_COOKIE];
    if (authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      const actor = match?.[1] ? await this.auth.actorFromApiToken(match[1]) : null;
      // Public routes ignore credentials they do not understand (e.g. a metrics scraper's token).
      if (!actor && !isPublic) throw unauthorized('The API token is invalid, expired or revoked.');
      if (actor) req.actor = actor;
    } else if (sessionToken) {
      const actor = await this.auth.actorFromSession(sessionToken);
      if (actor) req.actor = actor;
      else if (!isPublic) throw unauthorized('Your session has expired. Sign in again.');
    }

    const actor = req.actor;
    if (actor) {
      await this.limit(reply, actor.tokenId ? `token:${actor.tokenId}` : `user:${actor.user.id}`);
      if (actor.via === 'session' && !SAFE_METHODS.has(req.method) && !isPublic) {
        const given = req.headers[CSRF_HEADER];
        if (typeof given !== 'string' || !actor.csrfToken || !safeEqual(given, actor.csrfToken)) {
          throw new ProblemException(
            HttpStatus.FORBIDDEN,
            'csrf',
            `Requests made with a session cookie must send the ${CSRF_HEADER} header (from GET /me).`,
          );
        }
      }
      return true;
    }
    if (isPublic) return true;
    throw unauthorized('Sign in, or send an API token as `Authorization: Bearer <token>`.');
  }

  private async limit(reply: FastifyReply, key: string): Promise<void> {
    const decision = await this.limiter.hit(key);
    void reply.header('x-ratelimit-remaining', String(decision.remaining));
    if (!decision.allowed) {
      throw new ProblemException(
        HttpStatus.TOO_MANY_REQUESTS,
        'rate-limited',
        `Too many requests. Retry after ${decision.retryAfterSeconds} s.`,
        undefined,
        { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
      );
    }
  }
}

const unauthorized = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.UNAUTHORIZED, 'unauthorized', detail, undefined, {
    headers: { 'www-authenticate': 'Bearer realm="meltano-cloud"' },
  });
