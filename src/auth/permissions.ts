/** Role-based access in one place: routes ask `can(role, action)`; data code narrows by recordScope. */
import { type AccessClaims, userRoles } from './tokens.js';

export type Role = AccessClaims['role'];

const everyone: Role[] = [...userRoles];
const managers: Role[] = ['owner', 'admin', 'manager'];
const administrators: Role[] = ['owner', 'admin'];

/** The permission matrix. Staff act on the records they own or are assigned (see recordScope). */
export const permissionMatrix = {
  'users.read': everyone,
  'users.manage': administrators,
  /** Granting, changing or removing the owner role. */
  'users.manage-owners': ['owner'],
  /** Granting or changing admins: else an admin demotes a peer, then takes over their account. */
  'users.manage-admins': ['owner'],
  /** Setting someone else's password: only a higher role may, so nobody takes over a peer's account. */
  'users.reset-password.owner': [],
  'users.reset-password.admin': ['owner'],
  'users.reset-password.manager': administrators,
  'users.reset-password.staff': administrators,
  /** POST /me/password, given the current password. */
  'users.change-own-password': everyone,
  'crm.read': everyone,
  'crm.write': everyone,
  /** Reassigning records to someone else, and deleting them. */
  'crm.assign': managers,
  'crm.delete': managers,
  'settings.read': everyone,
  'audit.read': administrators,
} as const satisfies Record<string, Role[]>;

export type Action = keyof typeof permissionMatrix;

/** What reading, writing and deleting a CRM record needs. */
export const crmRecordActions = { read: 'crm.read', write: 'crm.write', delete: 'crm.delete' } as const satisfies Record<string, Action>;

export function can(role: Role, action: Action): boolean {
  return (permissionMatrix[action] as readonly Role[]).includes(role);
}

/** Which CRM records a user sees: all of the tenant's, or only those they own or are assigned. */
export type RecordScope = { kind: 'all' } | { kind: 'own'; userId: string };

export function recordScope(claims: Pick<AccessClaims, 'role' | 'sub'>): RecordScope {
  return managers.includes(claims.role) ? { kind: 'all' } : { kind: 'own', userId: claims.sub };
}
