/** /activities: notes, calls, emails and meetings on the tenant's leads and deals. */
import type { z } from 'zod';
import { crmRecordActions } from '../../auth/permissions.js';
import { recordRoutes } from '../../records/record-routes.js';
import { activityInput, activityListQuery, activityOutput, activityPatch } from './activity-schemas.js';
import { type ActivityRecord, createActivity, deleteActivity, getActivity, listActivities, updateActivity } from './activity-store.js';

function toOutput(activity: ActivityRecord): z.infer<typeof activityOutput> {
  const { tenantId: _tenant, occurredAt, createdAt, ...rest } = activity;
  return { ...rest, occurredAt: occurredAt.toISOString(), createdAt: createdAt.toISOString() };
}

export const activityRoutes = recordRoutes({
  path: '/activities',
  feature: 'activities',
  permissions: crmRecordActions,
  versioned: false,
  listQuery: activityListQuery,
  input: activityInput,
  patch: activityPatch,
  output: activityOutput,
  toOutput,
  list: listActivities,
  get: getActivity,
  create: createActivity,
  update: updateActivity,
  remove: deleteActivity,
});
