/**
 * Role-based access, in one place: which role may do what, and which records a role sees.
 * Routes ask `can(role, action)`; data code narrows queries with the scope.
 */
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
  /**
   * Granting the admin role, and changing an admin's role or status: else an admin demotes a peer
   * admin, then resets their password (users.reset-password.manager) and logs in as them.
   */
  'users.manage-admins': ['owner'],
  /**
   * Setting someone else's password, by their role: only a higher role may, so nobody takes over a
   * peer's or a superior's account. An owner's password only its owner changes (users.change-own-password).
   */
  'users.reset-password.owner': [],
  'users.reset-password.admin': ['owner'],
  'users.reset-password.manager': administrators,
  'users.reset-password.staff': administrators,
  /** POST /me/password, which asks for the current password. */
  'users.change-own-password': everyone,
  'crm.read': everyone,
  'crm.write': everyone,
  /** Reassigning records to someone else, and deleting them. */
  'crm.assign': managers,
  'crm.delete': managers,
  'settings.read': everyone,
  /** The tenant's audit trail (who changed which record). */
  'audit.read': administrators,
} as const satisfies Record<string, Role[]>;

export type Action = keyof typeof permissionMatrix;

/** What reading, writing and deleting a CRM record (lead, deal, activity) needs. */
export const crmRecordActions = { read: 'crm.read', write: 'crm.write', delete: 'crm.delete' } as const satisfies Record<string, Action>;

export function can(role: Role, action: Action): boolean {
  return (permissionMatrix[action] as readonly Role[]).includes(role);
}

/** Which CRM records a user sees: all of the tenant's, or only those they own or are assigned. */
export type RecordScope = { kind: 'all' } | { kind: 'own'; userId: string };

export function recordScope(claims: Pick<AccessClaims, 'role' | 'sub'>): RecordScope {
  return managers.includes(claims.role) ? { kind: 'all' } : { kind: 'own', userId: claims.sub };
}
