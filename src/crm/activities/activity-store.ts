/**
 * Activity data access. Takes a tenant-bound client: every statement runs under the tenant's RLS
 * context, so no query here filters by tenant. Within the tenant, every read and write is
 * narrowed to the caller's record scope: an activity outside it is "not found", like one of
 * another tenant, and a lead or deal outside it is no valid reference.
 */
import { type Actor, platformActor, recordChange } from '../../audit/tenant-audit.js';
import type { RecordScope } from '../../auth/permissions.js';
import type { Activity, Prisma } from '../../generated/tenant/client.js';
import { after, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import { tenantUserId } from '../../users/user-store.js';
import { dealScope } from '../deals/deal-store.js';
import { leadScope } from '../leads/lead-store.js';
import { InvalidReferenceError, RecordNotFoundError, translatePrismaError } from '../record-errors.js';
import type { WithValues } from '../domain-values.js';
import type { ActivityInput, ActivityKind, ActivityListQuery, ActivityPatch } from './activity-schemas.js';

/** An activity as stored: its kind is one of the activity_kind domain's values. */
export type ActivityRecord = WithValues<Activity, { kind: ActivityKind }>;

const entity = 'activity';
const referenceFields = { lead_id: 'leadId', deal_id: 'dealId', author_id: 'authorId' };

/**
 * The activities `scope` sees: all of the tenant's, or those the user wrote and those of the
 * leads and deals the user sees.
 */
export function activityScope(scope: RecordScope): Prisma.ActivityWhereInput {
  if (scope.kind === 'all') return {};
  return {
    OR: [{ authorId: scope.userId }, { lead: { is: leadScope(scope) } }, { deal: { is: dealScope(scope) } }],
  };
}

/** Refuses a lead or deal the caller cannot see, exactly as one that does not exist. */
async function checkReferences(db: TenantClient, scope: RecordScope, input: Pick<ActivityInput, 'leadId' | 'dealId'>) {
  if (input.leadId !== undefined) {
    const lead = await db.lead.findFirst({ where: { AND: [{ id: input.leadId }, leadScope(scope)] }, select: { id: true } });
    if (!lead) throw new InvalidReferenceError('leadId');
  }
  if (input.dealId !== undefined) {
    const deal = await db.deal.findFirst({ where: { AND: [{ id: input.dealId }, dealScope(scope)] }, select: { id: true } });
    if (!deal) throw new InvalidReferenceError('dealId');
  }
}

/** Newest occurrence first; ties (same millisecond) by id, descending. */
export async function listActivities(db: TenantClient, scope: RecordScope, query: ActivityListQuery) {
  const rows = await db.activity.findMany({
    where: {
      leadId: query.leadId,
      dealId: query.dealId,
      kind: query.kind,
      AND: [activityScope(scope), after('occurredAt', query.cursor)],
    },
    orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows as ActivityRecord[], query.limit, (activity) => activity.occurredAt);
}

export async function getActivity(db: TenantClient, scope: RecordScope, id: string): Promise<ActivityRecord> {
  const activity = await db.activity.findFirst({ where: { AND: [{ id }, activityScope(scope)] } });
  if (!activity) throw new RecordNotFoundError(entity);
  return activity as ActivityRecord;
}

/** Records an activity by `callerId`, its author when the caller is a user of this tenant. */
export async function createActivity(db: TenantClient, scope: RecordScope, input: ActivityInput, callerId: string): Promise<ActivityRecord> {
  await checkReferences(db, scope, input);
  const authorId = await tenantUserId(db, callerId);
  const occurredAt = input.occurredAt === undefined ? undefined : new Date(input.occurredAt);
  return db
    .$transaction(async (tx) => {
      const activity = await tx.activity.create({ data: { ...input, occurredAt, authorId } });
      await recordChange(tx, { actorId: callerId }, { entity, entityId: activity.id, action: 'create', changes: input });
      return activity as ActivityRecord;
    })
    .catch((err: unknown) => translatePrismaError(err, entity, referenceFields));
}

/** Activities carry no version: the last write wins. */
export async function updateActivity(
  db: TenantClient,
  scope: RecordScope,
  id: string,
  patch: ActivityPatch,
  actor: Actor = platformActor,
): Promise<ActivityRecord> {
  const occurredAt = patch.occurredAt === undefined ? undefined : new Date(patch.occurredAt);
  const activity = await db.$transaction(async (tx) => {
    const [updated] = await tx.activity.updateManyAndReturn({ where: { AND: [{ id }, activityScope(scope)] }, data: { ...patch, occurredAt } });
    if (updated) await recordChange(tx, actor, { entity, entityId: id, action: 'update', changes: patch });
    return updated;
  });
  if (!activity) throw new RecordNotFoundError(entity);
  return activity as ActivityRecord;
}

export async function deleteActivity(db: TenantClient, scope: RecordScope, id: string, actor: Actor = platformActor): Promise<void> {
  const { count } = await db.$transaction(async (tx) => {
    const deleted = await tx.activity.deleteMany({ where: { AND: [{ id }, activityScope(scope)] } });
    if (deleted.count) await recordChange(tx, actor, { entity, entityId: id, action: 'delete' });
    return deleted;
  });
  if (count === 0) throw new RecordNotFoundError(entity);
}
