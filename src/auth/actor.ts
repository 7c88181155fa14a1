import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { User } from '../generated/prisma/client.js';

/** Who is making a request, and how they proved it. */
export interface Actor {
  user: User;
  via: 'session' | 'token';
  sessionId?: string;
  tokenId?: string;
  csrfToken?: string;
}

/** Where a request came from, for audit events. */
export interface RequestOrigin {
  ip: string;
  userAgent: string | undefined;
}

export interface AuthenticatedRequest {
  actor?: Actor;
  /** The actor's memberships changed moments ago (AccessMarks): the access guard asks PostgreSQL. */
  membershipsChanged?: boolean;
  ip: string;
  headers: Record<string, string | string[] | undefined>;
}

export const CurrentActor = createParamDecorator((_data: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('CurrentActor used on a public route');
  return actor;
});

export const Origin = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): RequestOrigin => {
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const ua = req.headers['user-agent'];
    return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : undefined };
  },
);
