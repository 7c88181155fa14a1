import type { Role } from '../generated/prisma/enums.js';

/**
 * What each role may do, in one place (the README lists the same table).
 * Roles are cumulative: viewer < member < admin < owner, each gaining the permissions
 * listed under it.
 */
const gained = {
  viewer: ['org:read', 'billing:read'],
  member: ['run:write', 'schedule:toggle'],
  admin: [
    'project:write',
    'deployment:write',
    'secret:write',
    'notification:write',
    'member:write',
    'audit:read',
    'github:write',
    'org:write',
  ],
  owner: ['billing:write', 'org:delete'],
} as const satisfies Record<Role, readonly string[]>;

export const permissions = [
  ...gained.viewer,
  ...gained.member,
  ...gained.admin,
  ...gained.owner,
] as const;
export type Permission = (typeof permissions)[number];

const viewer: Permission[] = [...gained.viewer];
const member: Permission[] = [...viewer, ...gained.member];
const admin: Permission[] = [...member, ...gained.admin];
const owner: Permission[] = [...admin, ...gained.owner];

export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(viewer),
  member: new Set(member),
  admin: new Set(admin),
  owner: new Set(owner),
};

export const roleRank: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const can = (role: Role, permission: Permission): boolean =>
  rolePermissions[role].has(permission);
