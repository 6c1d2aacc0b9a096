/** Leads, deals and users per tenant: the grouped read behind the fleet report. */
import type { GroupedRead } from './fan-out.js';

export interface TenantCounts {
  leads: number;
  deals: number;
  users: number;
}

const count = (schema: string, table: string) => `(SELECT count(*) FROM ${schema}.${table} x WHERE x.tenant_id = t.id)::int AS ${table}`;

export const tenantCounts: GroupedRead<TenantCounts> = {
  select: (schema, ids) =>
    `SELECT t.id::text AS tenant_id, ${['leads', 'deals', 'users'].map((table) => count(schema, table)).join(', ')} FROM unnest(${ids}) AS t(id)`,
  row: (row) => ({ leads: Number(row.leads), deals: Number(row.deals), users: Number(row.users) }),
};
