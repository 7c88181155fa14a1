import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '../common/public.decorator.js';
import { ProblemException } from '../common/problem.js';
import { safeEqual } from '../common/signing.js';
import { AccessMarks } from './access-marks.js';
import type { Actor, AuthenticatedRequest } from './actor.js';
import { AuthService } from './auth.service.js';
import { CSRF_HEADER, SESSION_COOKIE } from './credentials.js';
import { RateLimiter } from './rate-limiter.js';

const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Global guard: rate limits per IP and per credential, resolves the actor
 * from `Authorization: Bearer <token>` or the session cookie, and requires
 * the CSRF token for state-changing requests made with a cookie. A request
 * whose credential this process validated within ACCESS_CACHE_MS costs one
 * Redis round trip here and nothing in PostgreSQL.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
    private readonly marks: AccessMarks,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest & AuthenticatedRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = req.routeOptions.url ?? '';
    const isPublic =
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()]) ??
      false;
    const ipKeys = UNLIMITED_ROUTES.has(route) ? [] : [`ip:${req.ip}`];

    const authorization = req.headers.authorization;
    const sessionToken = req.cookies[SESSION_COOKIE];
    const kind = authorization ? 'token' : sessionToken ? 'session' : null;
    const secret = authorization
      ? (/^Bearer\s+(\S+)$/i.exec(authorization)?.[1] ?? '')
      : (sessionToken ?? '');
    const hash = kind ? this.auth.credentialHash(kind, secret) : null;

    let actor: Actor | null;
    const cached = hash ? this.auth.cachedActor(hash) : undefined;
    if (kind && hash && cached) {
      // The hot path: a credential validated moments ago. Both limits, and the marks saying
      // whether it was revoked or its user's memberships changed since, in one round trip.
      const hit = await this.limit(
        reply,
        [...ipKeys, credentialKey(cached)],
        [this.marks.credential(hash), this.marks.memberships(cached.user.id)],
      );
      if (hit.marked[0]) {
        this.auth.forgetCredential(hash);
        actor = await this.auth.actorFrom(kind, hash);
      } else {
        actor = cached;
      }
      if (hit.marked[1]) req.membershipsChanged = true;
    } else {
      // The IP is counted before PostgreSQL is asked about a credential it has not seen.
      if (ipKeys.length) await this.limit(reply, ipKeys);
      actor = kind && hash ? await this.auth.actorFrom(kind, hash) : null;
      if (actor) {
        const hit = await this.limit(
          reply,
          [credentialKey(actor)],
          [this.marks.memberships(actor.user.id)],
        );
        if (hit.marked[0]) req.membershipsChanged = true;
      }
    }

    if (kind === 'token') {
      // Public routes ignore credentials they do not understand (e.g. a metrics scraper's token).
      if (!actor && !isPublic) throw unauthorized('The API token is invalid, expired or revoked.');
    } else if (kind === 'session') {
      if (!actor && !isPublic) throw unauthorized('Your session has expired. Sign in again.');
    }
    if (actor) {
      req.actor = actor;
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

  private async limit(reply: FastifyReply, keys: string[], marks: string[] = []) {
    const hit = await this.limiter.hit(keys, marks);
    void reply.header('x-ratelimit-remaining', String(hit.remaining));
    if (!hit.allowed) {
      throw new ProblemException(
        HttpStatus.TOO_MANY_REQUESTS,
        'rate-limited',
        `Too many requests. Retry after ${hit.retryAfterSeconds} s.`,
        undefined,
        { headers: { 'retry-after': String(hit.retryAfterSeconds) } },
      );
    }
    return hit;
  }
}

/** The rate limit of a credential: per API token, or per user for sessions. */
const credentialKey = (actor: Actor): string =>
  actor.tokenId ? `token:${actor.tokenId}` : `user:${actor.user.id}`;

const unauthorized = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.UNAUTHORIZED, 'unauthorized', detail, undefined, {
    headers: { 'www-authenticate': 'Bearer realm="meltano-cloud"' },
  });
