/**
 * The tenant's audit trail (audit_events, in its tier). Stores call `recordChange` in the changing
 * transaction, so a change and its record commit or roll back together.
 */
import type { Prisma } from '../generated/tenant/client.js';
import { after, page } from '../pagination/keyset-cursor.js';
import type { TenantClient } from '../router/tenant-router.js';

/** actorId: the token's user; null: the platform (an admin or a script). */
export interface Actor {
  actorId: string | null;
  operator?: string;
  onBehalfOf?: string;
}

export const platformActor: Actor = { actorId: null };

/** The token's subject; for an operator-minted token (`act`), the platform on the user's behalf. */
export const actorOf = (claims: { sub: string; act?: { sub: string } }): Actor =>
  claims.act ? { actorId: null, operator: claims.act.sub, onBehalfOf: claims.sub } : { actorId: claims.sub };

type AuditWriter = Pick<TenantClient, 'auditEvent'>;

export async function recordChange(
  tx: AuditWriter,
  actor: Actor,
  change: { entity: string; entityId: string; action: 'create' | 'update' | 'delete' | 'login' | 'login-failed'; changes?: Record<string, unknown> },
): Promise<void> {
  await tx.auditEvent.create({
    data: {
      actorId: actor.actorId,
      action: `${change.entity}.${change.action}`,
      entity: change.entity,
      entityId: change.entityId,
      // Through JSON: Dates become ISO strings, Decimals strings, undefined fields vanish.
      changes: JSON.parse(
        JSON.stringify({ ...change.changes, ...(actor.operator && { _operator: actor.operator, _onBehalfOf: actor.onBehalfOf }) }),
      ) as Prisma.InputJsonObject,
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

export async function listChanges(db: TenantClient, query: AuditQuery) {
  const rows = await db.auditEvent.findMany({
    where: { entity: query.entity, entityId: query.entityId, actorId: query.actorId, ...after('at', query.cursor) },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows, query.limit, (row) => row.at);
}
