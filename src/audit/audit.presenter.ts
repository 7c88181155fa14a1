import type { AuditEvent } from '../generated/prisma/client.js';
import type { AuditNames } from './audit.repository.js';

/** Details fields that name the resource, for one that no longer exists (or has no row). */
const NAMING_DETAILS = ['name', 'login', 'target', 'state_id'] as const;

function resourceName(e: AuditEvent, names?: AuditNames): string | null {
  const details = (e.details ?? {}) as Record<string, unknown>;
  const live = e.resourceId ? names?.resources.get(`${e.resourceType}:${e.resourceId}`) : undefined;
  // A state change is recorded on its deployment: name the state too.
  const state = typeof details.state_id === 'string' ? details.state_id : null;
  if (live) return state ? `${live} · state ${state}` : live;
  for (const key of NAMING_DETAILS) {
    const value = details[key];
    if (typeof value === 'string' && value) return value;
  }
  return null;
}

export const presentAuditEvent = (e: AuditEvent, names?: AuditNames) => ({
  id: e.id,
  action: e.action,
  actor: e.actorLogin,
  actor_name: (e.actorUserId ? names?.actors.get(e.actorUserId) : null) ?? null,
  resource_type: e.resourceType,
  resource_id: e.resourceId,
  resource_name: resourceName(e, names),
  ip: e.ip,
  user_agent: e.userAgent,
  details: e.details,
  created_at: e.createdAt.toISOString(),
});
