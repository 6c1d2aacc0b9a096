/**
 * Lead data access. Takes a tenant-bound client: every statement runs under the tenant's RLS
 * context, so no query here filters by tenant (and none could reach another tenant's rows).
 * The record scope narrows further to what the caller's role may see; out of scope is not found.
 */
import type { RecordScope } from '../../auth/permissions.js';
import { type Lead, Prisma } from '../../generated/tenant/client.js';
import { decodeCursor, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import { selectList } from '../../router/tenant-sql.js';
import { type Actor, platformActor, recordChange } from '../../audit/tenant-audit.js';
import { assertBelowLimit } from '../../plans/quotas.js';
import { RecordInUseError, RecordNotFoundError, translatePrismaError, VersionConflictError } from '../record-errors.js';
import type { WithValues } from '../domain-values.js';
import type { LeadInput, LeadListQuery, LeadPatch, LeadStatus } from './lead-schemas.js';

/** A lead as stored: its status is one of the lead_status domain's values. */
export type LeadRecord = WithValues<Lead, { status: LeadStatus }>;

const entity = 'lead';
const referenceFields = { owner_id: 'ownerId', assignee_id: 'assigneeId' };

/** Staff see the leads they own or are assigned. */
export function leadScope(scope: RecordScope) {
  return scope.kind === 'all' ? {} : { OR: [{ ownerId: scope.userId }, { assigneeId: scope.userId }] };
}

// Reads, the hot path, go around Prisma's queries (src/router/tenant-sql.ts) but build their SQL
// with its tagged template, which numbers the parameters; writes stay with Prisma.
const leadColumns = Prisma.raw(selectList(Prisma.LeadScalarFieldEnum));

/** Staff see the leads they own or are assigned (leadScope, in SQL). */
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

/**
 * Creates a lead and its audit record in one transaction; with `maxLeads` (the tenant's plan
 * limit), refuses with QuotaExceededError once the tenant holds that many.
 */
export async function createLead(db: TenantClient, input: LeadInput, actor: Actor & { maxLeads?: number | null } = platformActor): Promise<LeadRecord> {
  return db
    .$transaction(async (tx) => {
      await assertBelowLimit(tx, 'leads', actor.maxLeads);
      const lead = await tx.lead.create({ data: input });
      await recordChange(tx, actor, { entity, entityId: lead.id, action: 'create', changes: input });
      return lead as LeadRecord;
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
}

/** Applies `patch` if the lead is still at `expectedVersion` (when given); bumps the version. */
export async function updateLead(
  db: TenantClient,
  scope: RecordScope,
  id: string,
  patch: LeadPatch,
  expectedVersion?: number,
  actor: Actor = platformActor,
): Promise<LeadRecord> {
  const lead = await db
    .$transaction(async (tx) => {
      const [updated] = await tx.lead.updateManyAndReturn({
        where: { id, ...leadScope(scope), ...(expectedVersion !== undefined && { version: expectedVersion }) },
        data: { ...patch, version: { increment: 1 } },
      });
      if (updated) await recordChange(tx, actor, { entity, entityId: id, action: 'update', changes: patch });
      return updated as LeadRecord | undefined;
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
  return lead ?? explainMiss(db, scope, id);
}

export async function deleteLead(db: TenantClient, scope: RecordScope, id: string, expectedVersion?: number, actor: Actor = platformActor): Promise<void> {
  const { count } = await db
    .$transaction(async (tx) => {
      const deleted = await tx.lead.deleteMany({ where: { id, ...leadScope(scope), ...(expectedVersion !== undefined && { version: expectedVersion }) } });
      if (deleted.count) await recordChange(tx, actor, { entity, entityId: id, action: 'delete' });
      return deleted;
    })
    .catch((err: unknown) => {
      // Deals keep their lead: the foreign key refuses, and the caller is told why.
      if ((err as { code?: string }).code === 'P2003') throw new RecordInUseError(entity);
      throw err;
    });
  if (count === 0) await explainMiss(db, scope, id);
}

/** A versioned write matched nothing: the lead is gone (or out of scope), or it moved past the expected version. */
async function explainMiss(db: TenantClient, scope: RecordScope, id: string): Promise<never> {
  const current = await db.lead.findFirst({ where: { id, ...leadScope(scope) }, select: { version: true } });
  if (!current) throw new RecordNotFoundError(entity);
  throw new VersionConflictError(entity, current.version);
}
