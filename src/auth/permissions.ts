/** Role-based access in one place: routes ask `can`; data code narrows by recordScope. */
import { type AccessClaims, userRoles } from './tokens.js';

export type Role = AccessClaims['role'];

const everyone: Role[] = [...userRoles];
const managers: Role[] = ['owner', 'admin', 'manager'];
const administrators: Role[] = ['owner', 'admin'];

export const permissionMatrix = {
  'users.read': everyone,
  'users.manage': administrators,
  'users.manage-owners': ['owner'],
  /** Owner only: else an admin could demote a peer, then take over their account. */
  'users.manage-admins': ['owner'],
  /** Only a higher role may set another's password (no peer takeover). */
  'users.reset-password.owner': [],
  'users.reset-password.admin': ['owner'],
  'users.reset-password.manager': administrators,
  'users.reset-password.staff': administrators,
  'users.change-own-password': everyone,
  'crm.read': everyone,
  'crm.write': everyone,
  'crm.assign': managers,
  'crm.delete': managers,
  'settings.read': everyone,
  'audit.read': administrators,
} as const satisfies Record<string, Role[]>;

export type Action = keyof typeof permissionMatrix;

export const crmRecordActions = { read: 'crm.read', write: 'crm.write', delete: 'crm.delete' } as const satisfies Record<string, Action>;

export function can(role: Role, action: Action): boolean {
  return (permissionMatrix[action] as readonly Role[]).includes(role);
}

/** 'own': the records the user owns or is assigned (staff). */
export type RecordScope = { kind: 'all' } | { kind: 'own'; userId: string };

export function recordScope(claims: Pick<AccessClaims, 'role' | 'sub'>): RecordScope {
  return managers.includes(claims.role) ? { kind: 'all' } : { kind: 'own', userId: claims.sub };
}
