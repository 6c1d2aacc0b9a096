/** Activity data access, tenant-bound and scoped as in ../leads/lead-store.ts. */
import type { RecordScope } from '../../auth/permissions.js';
import type { Activity, Prisma } from '../../generated/tenant/client.js';
import { after, page } from '../../pagination/keyset-cursor.js';
import type { TenantClient } from '../../router/tenant-router.js';
import type { WithValues } from '../../records/domain-values.js';
import { InvalidReferenceError, RecordNotFoundError } from '../../records/record-errors.js';
import { callerAsUser, recordWrites, type RecordWriter } from '../../records/record-store.js';
import { dealScope } from '../deals/deal-store.js';
import { leadScope } from '../leads/lead-store.js';
import type { ActivityInput, ActivityKind, ActivityListQuery, ActivityPatch } from './activity-schemas.js';

export type ActivityRecord = WithValues<Activity, { kind: ActivityKind }>;

const entity = 'activity';

/** All of the tenant's, or those the user wrote or whose lead or deal the user sees. */
export function activityScope(scope: RecordScope): Prisma.ActivityWhereInput {
  if (scope.kind === 'all') return {};
  return {
    OR: [{ authorId: scope.userId }, { lead: { is: leadScope(scope) } }, { deal: { is: dealScope(scope) } }],
  };
}

// No version: the last write wins.
const activities = recordWrites({ entity, references: { lead_id: 'leadId', deal_id: 'dealId', author_id: 'authorId' }, scope: activityScope });

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

export async function createActivity(w: RecordWriter, input: ActivityInput): Promise<ActivityRecord> {
  await checkReferences(w.db, w.scope, input);
  const authorId = await callerAsUser(w);
  const occurredAt = input.occurredAt === undefined ? undefined : new Date(input.occurredAt);
  const activity = await activities.create(w, input, (tx) => tx.activity.create({ data: { ...input, occurredAt, authorId } }));
  return activity as ActivityRecord;
}

export async function updateActivity(w: RecordWriter, id: string, patch: ActivityPatch): Promise<ActivityRecord> {
  const data = { ...patch, occurredAt: patch.occurredAt === undefined ? undefined : new Date(patch.occurredAt) };
  return (await activities.update(w, id, patch, undefined, (tx, target) => tx.activity.updateManyAndReturn({ where: target, data }))) as ActivityRecord;
}

export function deleteActivity(w: RecordWriter, id: string): Promise<void> {
  return activities.remove(w, id, undefined, (tx, target) => tx.activity.deleteMany({ where: target }));
}
