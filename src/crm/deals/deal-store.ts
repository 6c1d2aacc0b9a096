/**
 * Deal data access. Takes a tenant-bound client: every statement runs under the tenant's RLS
 * context, so no query here filters by tenant. Within the tenant, every read and write is
 * narrowed to the caller's record scope: a deal outside it is "not found", like one of another
 * tenant, and a lead outside it is no valid reference.
 */
import { type Actor, platformActor, recordChange } from '../../audit/tenant-audit.js';
import type { RecordScope } from '../../auth/permissions.js';
import type { Deal, Prisma } from '../../generated/tenant/client.js';
import { after, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import { tenantUserId } from '../../users/user-store.js';
import { leadScope } from '../leads/lead-store.js';
import { InvalidReferenceError, RecordNotFoundError, translatePrismaError, VersionConflictError } from '../record-errors.js';
import type { WithValues } from '../domain-values.js';
import type { DealInput, DealListQuery, DealPatch, DealStage } from './deal-schemas.js';

/** A deal as stored: its stage is one of the deal_stage domain's values. */
export type DealRecord = WithValues<Deal, { stage: DealStage }>;

const entity = 'deal';
const referenceFields = { lead_id: 'leadId', owner_id: 'ownerId' };

/** The deals `scope` sees: all of the tenant's, or those the user owns. */
export function dealScope(scope: RecordScope): Prisma.DealWhereInput {
  return scope.kind === 'all' ? {} : { ownerId: scope.userId };
}

/**
 * Refuses a lead the caller cannot see, exactly as one that does not exist (the foreign key
 * would accept a lead of the tenant outside the scope, and so reveal that it exists).
 */
async function checkLead(db: TenantClient, scope: RecordScope, leadId: string | null | undefined): Promise<void> {
  if (leadId === undefined || leadId === null) return;
  const lead = await db.lead.findFirst({ where: { AND: [{ id: leadId }, leadScope(scope)] }, select: { id: true } });
  if (!lead) throw new InvalidReferenceError('leadId');
}

/** 'YYYY-MM-DD' as the UTC midnight Prisma writes to a date column; null and absent pass through. */
function toDate(date: string | null | undefined): Date | null | undefined {
  return date === undefined || date === null ? date : new Date(`${date}T00:00:00.000Z`);
}

export async function listDeals(db: TenantClient, scope: RecordScope, query: DealListQuery) {
  const rows = await db.deal.findMany({
    where: {
      stage: query.stage,
      leadId: query.leadId,
      ownerId: query.ownerId,
      AND: [dealScope(scope), after('createdAt', query.cursor)],
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows as DealRecord[], query.limit, (deal) => deal.createdAt);
}

export async function getDeal(db: TenantClient, scope: RecordScope, id: string): Promise<DealRecord> {
  const deal = await db.deal.findFirst({ where: { AND: [{ id }, dealScope(scope)] } });
  if (!deal) throw new RecordNotFoundError(entity);
  return deal as DealRecord;
}

/**
 * Creates a deal. An absent ownerId means the caller (`callerId`), when the caller is a user of
 * this tenant, and no owner otherwise. Whether the caller may name another owner is the route's
 * question (a permission), not this one's.
 */
export async function createDeal(db: TenantClient, scope: RecordScope, input: DealInput, callerId: string): Promise<DealRecord> {
  await checkLead(db, scope, input.leadId);
  const ownerId = input.ownerId === undefined ? await tenantUserId(db, callerId) : input.ownerId;
  return db
    .$transaction(async (tx) => {
      const deal = await tx.deal.create({ data: { ...input, ownerId, closeDate: toDate(input.closeDate) } });
      await recordChange(tx, { actorId: callerId }, { entity, entityId: deal.id, action: 'create', changes: { ...input, ownerId } });
      return deal as DealRecord;
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
}

/** Applies `patch` if the deal is in scope and still at `expectedVersion` (when given); bumps the version. */
export async function updateDeal(
  db: TenantClient,
  scope: RecordScope,
  id: string,
  patch: DealPatch,
  expectedVersion?: number,
  actor: Actor = platformActor,
): Promise<DealRecord> {
  await checkLead(db, scope, patch.leadId);
  const deal = await db
    .$transaction(async (tx) => {
      const [updated] = await tx.deal.updateManyAndReturn({
        where: { AND: [{ id, ...(expectedVersion !== undefined && { version: expectedVersion }) }, dealScope(scope)] },
        data: { ...patch, closeDate: toDate(patch.closeDate), version: { increment: 1 } },
      });
      if (updated) await recordChange(tx, actor, { entity, entityId: id, action: 'update', changes: patch });
      return updated as DealRecord | undefined;
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
  return deal ?? explainMiss(db, scope, id);
}

/** Deletes the deal (and, by cascade, its activities) if in scope and at `expectedVersion` (when given). */
export async function deleteDeal(db: TenantClient, scope: RecordScope, id: string, expectedVersion?: number, actor: Actor = platformActor): Promise<void> {
  const { count } = await db.$transaction(async (tx) => {
    const deleted = await tx.deal.deleteMany({
      where: { AND: [{ id, ...(expectedVersion !== undefined && { version: expectedVersion }) }, dealScope(scope)] },
    });
    if (deleted.count) await recordChange(tx, actor, { entity, entityId: id, action: 'delete' });
    return deleted;
  });
  if (count === 0) await explainMiss(db, scope, id);
}

/** A versioned write matched nothing: the deal is gone (or out of scope), or it moved past the expected version. */
async function explainMiss(db: TenantClient, scope: RecordScope, id: string): Promise<never> {
  const current = await db.deal.findFirst({ where: { AND: [{ id }, dealScope(scope)] }, select: { version: true } });
  if (!current) throw new RecordNotFoundError(entity);
  throw new VersionConflictError(entity, current.version);
}
