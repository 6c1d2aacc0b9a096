/**
 * Lead data access. Takes a tenant-bound client: every statement runs under the tenant's RLS
 * context, so no query here filters by tenant (and none could reach another tenant's rows).
 */
import type { Lead } from '../../generated/tenant/client.js';
import type { TenantClient } from '../../router/tenant-router.js';
import { RecordNotFoundError, translatePrismaError, VersionConflictError } from '../record-errors.js';
import type { LeadInput, LeadListQuery, LeadPatch } from './lead-schemas.js';

const entity = 'lead';
const referenceFields = { owner_id: 'ownerId', assignee_id: 'assigneeId' };

/** Opaque keyset cursor: the (createdAt, id) of the last row of the previous page. */
function encodeCursor(lead: Lead): string {
  return Buffer.from(`${lead.createdAt.toISOString()}|${lead.id}`).toString('base64url');
}

// Exactly what encodeCursor writes: anything looser (a year like -100000, an id of 36 dashes)
// would reach PostgreSQL as a value it cannot cast and fail there as a 500.
const cursorPattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  const match = cursorPattern.exec(Buffer.from(cursor, 'base64url').toString());
  const createdAt = new Date(match?.[1] ?? '');
  if (!match || Number.isNaN(createdAt.getTime())) return undefined;
  return { createdAt, id: match[2]! };
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursorError';
  }
}

export async function listLeads(db: TenantClient, query: LeadListQuery) {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && !after) throw new InvalidCursorError();
  const rows = await db.lead.findMany({
    where: {
      status: query.status,
      ownerId: query.ownerId,
      assigneeId: query.assigneeId,
      ...(after && {
        OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
      }),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  const items = rows.slice(0, query.limit);
  return { items, nextCursor: rows.length > query.limit ? encodeCursor(items.at(-1)!) : null };
}

export async function getLead(db: TenantClient, id: string): Promise<Lead> {
  const lead = await db.lead.findFirst({ where: { id } });
  if (!lead) throw new RecordNotFoundError(entity);
  return lead;
}

export async function createLead(db: TenantClient, input: LeadInput): Promise<Lead> {
  return db.lead.create({ data: input }).catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
}

/** Applies `patch` if the lead is still at `expectedVersion` (when given); bumps the version. */
export async function updateLead(db: TenantClient, id: string, patch: LeadPatch, expectedVersion?: number): Promise<Lead> {
  const [lead] = await db.lead
    .updateManyAndReturn({
      where: { id, ...(expectedVersion !== undefined && { version: expectedVersion }) },
      data: { ...patch, version: { increment: 1 } },
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
  return lead ?? explainMiss(db, id);
}

export async function deleteLead(db: TenantClient, id: string, expectedVersion?: number): Promise<void> {
  const { count } = await db.lead.deleteMany({
    where: { id, ...(expectedVersion !== undefined && { version: expectedVersion }) },
  });
  if (count === 0) await explainMiss(db, id);
}

/** A versioned write matched nothing: the lead is gone, or it moved past the expected version. */
async function explainMiss(db: TenantClient, id: string): Promise<never> {
  const current = await db.lead.findFirst({ where: { id }, select: { version: true } });
  if (!current) throw new RecordNotFoundError(entity);
  throw new VersionConflictError(entity, current.version);
}
