/** /deals: CRUD of the tenant's deals. */
import type { z } from 'zod';
import { crmRecordActions } from '../../auth/permissions.js';
import { recordRoutes } from '../../records/record-routes.js';
import { dealInput, dealListQuery, dealOutput, dealPatch } from './deal-schemas.js';
import { createDeal, type DealRecord, deleteDeal, getDeal, listDeals, updateDeal } from './deal-store.js';

function toOutput(deal: DealRecord): z.infer<typeof dealOutput> {
  const { tenantId: _tenant, amount, closeDate, createdAt, updatedAt, ...rest } = deal;
  return {
    ...rest,
    amount: amount.toFixed(2),
    closeDate: closeDate ? closeDate.toISOString().slice(0, 10) : null,
    createdAt: createdAt.toISOString(),
    updatedAt: updatedAt.toISOString(),
  };
}

export const dealRoutes = recordRoutes({
  path: '/deals',
  feature: 'deals',
  permissions: crmRecordActions,
  versioned: true,
  listQuery: dealListQuery,
  input: dealInput,
  patch: dealPatch,
  output: dealOutput,
  toOutput,
  assignees: (deal) => [deal.ownerId],
  list: listDeals,
  get: getDeal,
  create: createDeal,
  update: updateDeal,
  remove: deleteDeal,
});
