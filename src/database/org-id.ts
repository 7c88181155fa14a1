/**
 * Tenant scoping by type (as novu does): every tenant-owned query in a
 * repository takes an `OrgId`, and a plain `string` is not one, so a query
 * that forgets the organization does not compile.
 *
 * An `OrgId` is minted only where the organization is known to be right:
 * - from a membership the access guard verified (`orgIdOfMembership`),
 * - from a verified webhook, after its signature was checked (`orgIdFromVerifiedWebhook`),
 * - from a run-scoped state credential whose token matched (`orgIdFromRunCredential`),
 * - from a worker job payload the job catalog validated (`orgIdFromJob`),
 * - from rows read by `SystemRepository` (cross-tenant work, explicit by name) or
 *   returned by a repository that created the organization.
 */
declare const orgIdBrand: unique symbol;
export type OrgId = string & { readonly [orgIdBrand]: 'OrgId' };

/** The organization of a membership the access guard looked up for the signed-in user. */
export function orgIdOfMembership(membership: { organizationId: string }): OrgId {
  return membership.organizationId as OrgId;
}

/** The organization a webhook belongs to, resolved after its signature was verified. */
export function orgIdFromVerifiedWebhook(organizationId: string): OrgId {
  return organizationId as OrgId;
}

/** The organization of a run whose state credential (a hashed random token) was just verified. */
export function orgIdFromRunCredential(run: { organizationId: string }): OrgId {
  return run.organizationId as OrgId;
}

/** The organization named by a job payload (validated by `src/queue/jobs.ts` when taken). */
export function orgIdFromJob(payload: { organizationId: string }): OrgId {
  return payload.organizationId as OrgId;
}

/**
 * Only for repositories: the organization id of a row they read or created
 * (a row's own `organizationId` column is by construction its tenant).
 */
export function orgIdOfRow(row: { organizationId: string }): OrgId {
  return row.organizationId as OrgId;
}
