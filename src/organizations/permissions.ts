import type { Role } from '../generated/prisma/enums.js';

/**
 * What each role may do, in one place (the README lists the same table).
 * Roles are cumulative: viewer < member < admin < owner.
 */
export const permissions = [
  'org:read',
  'billing:read',
  'run:write',
  'schedule:toggle',
  'project:write',
  'deployment:write',
  'secret:write',
  'notification:write',
  'member:write',
  'audit:read',
  'github:write',
  'org:write',
  'billing:write',
  'org:delete',
] as const;
export type Permission = (typeof permissions)[number];

const viewer: Permission[] = ['org:read', 'billing:read'];
const member: Permission[] = [...viewer, 'run:write', 'schedule:toggle'];
const admin: Permission[] = [
  ...member,
  'project:write',
  'deployment:write',
  'secret:write',
  'notification:write',
  'member:write',
  'audit:read',
  'github:write',
  'org:write',
];
const owner: Permission[] = [...admin, 'billing:write', 'org:delete'];

export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(viewer),
  member: new Set(member),
  admin: new Set(admin),
  owner: new Set(owner),
};

export const roleRank: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const can = (role: Role, permission: Permission): boolean =>
  rolePermissions[role].has(permission);
