import type { AuditEvent } from '../generated/prisma/client.js';

export const presentAuditEvent = (e: AuditEvent) => ({
  id: e.id,
  action: e.action,
  actor: e.actorLogin,
  resource_type: e.resourceType,
  resource_id: e.resourceId,
  ip: e.ip,
  user_agent: e.userAgent,
  details: e.details,
  created_at: e.createdAt.toISOString(),
});
