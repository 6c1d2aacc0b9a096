/**
 * Lead data access. The client is tenant-bound: RLS confines every statement to the tenant, so no
 * query filters by tenant. The caller's record scope narrows further; out of scope is not found.
 */
import type { RecordScope } from '../../auth/permissions.js';
import { type Lead, Prisma } from '../../generated/tenant/client.js';
import { decodeCursor, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import { selectList } from '../../router/tenant-sql.js';
import { assertBelowLimit } from '../../plans/quotas.js';
import type { WithValues } from '../../records/domain-values.js';
import { RecordNotFoundError } from '../../records/record-errors.js';
import { callerAsUser, recordWrites, type RecordWriter } from '../../records/record-store.js';
import type { LeadInput, LeadListQuery, LeadPatch, LeadStatus } from './lead-schemas.js';

export type LeadRecord = WithValues<Lead, { status: LeadStatus }>;

const entity = 'lead';

/** Staff see the leads they own or are assigned. */
export function leadScope(scope: RecordScope): Prisma.LeadWhereInput {
  return scope.kind === 'all' ? {} : { OR: [{ ownerId: scope.userId }, { assigneeId: scope.userId }] };
}

const leads = recordWrites({
  entity,
  references: { owner_id: 'ownerId', assignee_id: 'assigneeId' },
  scope: leadScope,
  version: (db, target) => db.lead.findFirst({ where: target, select: { version: true } }),
});

// Reads, the hot path, bypass Prisma's queries (src/router/tenant-sql.ts) but use its tagged
// template, which numbers the parameters; writes stay with Prisma.
const leadColumns = Prisma.raw(selectList(Prisma.LeadScalarFieldEnum));

/** leadScope, in SQL. */
function scopeConditions(scope: RecordScope): Prisma.Sql[] {
  return scope.kind === 'all' ? [] : [Prisma.sql`(owner_id = ${scope.userId} OR assignee_id = ${scope.userId})`];
}

const where = (conditions: (Prisma.Sql | false)[]) => {
  const terms = conditions.filter((c) => c !== false);
  return terms.length ? Prisma.sql`WHERE ${Prisma.join(terms, ' AND ')}` : Prisma.empty;
};

export async function listLeads(db: TenantClient, scope: RecordScope, query: LeadListQuery) {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const statement = Prisma.sql`SELECT ${leadColumns} FROM leads ${where([
    query.status !== undefined && Prisma.sql`status = ${query.status}`,
    query.ownerId !== undefined && Prisma.sql`owner_id = ${query.ownerId}`,
    query.assigneeId !== undefined && Prisma.sql`assignee_id = ${query.assigneeId}`,
    ...scopeConditions(scope),
    after !== undefined && Prisma.sql`(created_at < ${after.at} OR (created_at = ${after.at} AND id < ${after.id}))`,
  ])} ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`;
  const rows = await db.$rows<LeadRecord>(statement.text, statement.values);
  return page(rows, query.limit, (lead) => lead.createdAt);
}

export async function getLead(db: TenantClient, scope: RecordScope, id: string): Promise<LeadRecord> {
  const statement = Prisma.sql`SELECT ${leadColumns} FROM leads ${where([Prisma.sql`id = ${id}`, ...scopeConditions(scope)])}`;
  // A lookup by key: its plan cannot depend on the values.
  const [lead] = await db.$rows<LeadRecord>(statement.text, statement.values, { genericPlan: true });
  if (!lead) throw new RecordNotFoundError(entity);
  return lead;
}

/** `maxLeads`: the plan limit; null or absent: none. */
export async function createLead(w: RecordWriter, input: LeadInput, maxLeads?: number | null): Promise<LeadRecord> {
  const data = { ...input, ownerId: input.ownerId === undefined ? await callerAsUser(w) : input.ownerId };
  const lead = await leads.create(w, data, async (tx) => {
    await assertBelowLimit(tx, 'leads', maxLeads);
    return tx.lead.create({ data });
  });
  return lead as LeadRecord;
}

export async function updateLead(w: RecordWriter, id: string, patch: LeadPatch, expectedVersion?: number): Promise<LeadRecord> {
  const data = { ...patch, version: { increment: 1 } };
  return (await leads.update(w, id, patch, expectedVersion, (tx, target) => tx.lead.updateManyAndReturn({ where: target, data }))) as LeadRecord;
}

/** Deals keep their lead: deleting a lead they reference is refused (RecordInUseError). */
export function deleteLead(w: RecordWriter, id: string, expectedVersion?: number): Promise<void> {
  return leads.remove(w, id, expectedVersion, (tx, target) => tx.lead.deleteMany({ where: target }));
}
