/**
 * The tenant's own audit trail (table audit_events, in the tenant's tier): who changed which
 * record. Stores call `recordChange` inside the transaction that makes the change, so a change
 * and its record commit or roll back together.
 */
import type { Prisma } from '../generated/tenant/client.js';
import { after, page } from '../pagination/keyset-cursor.js';
import type { TenantClient } from '../router/tenant-router.js';

/** Who makes a change: the user id of the token (null: the platform, i.e. an admin or a script). */
export interface Actor {
  actorId: string | null;
}

export const platformActor: Actor = { actorId: null };

/** The actor of a tenant request: the subject of its token. */
export const actorOf = (claims: { sub: string }): Actor => ({ actorId: claims.sub });

/** A transaction of a tenant-bound client (or the client itself). */
type AuditWriter = Pick<TenantClient, 'auditEvent'>;

export async function recordChange(
  tx: AuditWriter,
  actor: Actor,
  change: { entity: string; entityId: string; action: 'create' | 'update' | 'delete'; changes?: Record<string, unknown> },
): Promise<void> {
  await tx.auditEvent.create({
    data: {
      actorId: actor.actorId,
      action: `${change.entity}.${change.action}`,
      entity: change.entity,
      entityId: change.entityId,
      // Through JSON: Dates become ISO strings, Decimals strings, undefined fields vanish.
      changes: JSON.parse(JSON.stringify(change.changes ?? {})) as Prisma.InputJsonObject,
    },
  });
}

export interface AuditQuery {
  limit: number;
  cursor?: string;
  entity?: string;
  entityId?: string;
  actorId?: string;
}

/** Newest first, by keyset. */
export async function listChanges(db: TenantClient, query: AuditQuery) {
  const rows = await db.auditEvent.findMany({
    where: { entity: query.entity, entityId: query.entityId, actorId: query.actorId, ...after('at', query.cursor) },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows, query.limit, (row) => row.at);
}
