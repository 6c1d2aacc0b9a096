/** Deal data access, tenant-bound and scoped as in ../leads/lead-store.ts. */
import type { RecordScope } from '../../auth/permissions.js';
import type { Deal, Prisma } from '../../generated/tenant/client.js';
import { after, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import type { WithValues } from '../../records/domain-values.js';
import { InvalidReferenceError, RecordNotFoundError } from '../../records/record-errors.js';
import { callerAsUser, recordWrites, type RecordWriter } from '../../records/record-store.js';
import { leadScope } from '../leads/lead-store.js';
import type { DealInput, DealListQuery, DealPatch, DealStage } from './deal-schemas.js';

export type DealRecord = WithValues<Deal, { stage: DealStage }>;

const entity = 'deal';

/** All of the tenant's deals, or those the user owns. */
export function dealScope(scope: RecordScope): Prisma.DealWhereInput {
  return scope.kind === 'all' ? {} : { ownerId: scope.userId };
}

const deals = recordWrites({
  entity,
  references: { lead_id: 'leadId', owner_id: 'ownerId' },
  scope: dealScope,
  version: (db, target) => db.deal.findFirst({ where: target, select: { version: true } }),
});

/**
 * Refuses a lead the caller cannot see as one that does not exist: the foreign key would accept
 * it, and so reveal that it exists.
 */
async function checkLead(db: TenantClient, scope: RecordScope, leadId: string | null | undefined): Promise<void> {
  if (leadId === undefined || leadId === null) return;
  const lead = await db.lead.findFirst({ where: { AND: [{ id: leadId }, leadScope(scope)] }, select: { id: true } });
  if (!lead) throw new InvalidReferenceError('leadId');
}

/** 'YYYY-MM-DD' as the UTC midnight Prisma writes to a date column. */
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

/** Whether the caller may name another owner is the route's check. */
export async function createDeal(w: RecordWriter, input: DealInput): Promise<DealRecord> {
  await checkLead(w.db, w.scope, input.leadId);
  const ownerId = input.ownerId === undefined ? await callerAsUser(w) : input.ownerId;
  const deal = await deals.create(w, { ...input, ownerId }, (tx) => tx.deal.create({ data: { ...input, ownerId, closeDate: toDate(input.closeDate) } }));
  return deal as DealRecord;
}

export async function updateDeal(w: RecordWriter, id: string, patch: DealPatch, expectedVersion?: number): Promise<DealRecord> {
  await checkLead(w.db, w.scope, patch.leadId);
  const data = { ...patch, closeDate: toDate(patch.closeDate), version: { increment: 1 } };
  return (await deals.update(w, id, patch, expectedVersion, (tx, target) => tx.deal.updateManyAndReturn({ where: target, data }))) as DealRecord;
}

/** Cascades to the deal's activities. */
export function deleteDeal(w: RecordWriter, id: string, expectedVersion?: number): Promise<void> {
  return deals.remove(w, id, expectedVersion, (tx, target) => tx.deal.deleteMany({ where: target }));
}
