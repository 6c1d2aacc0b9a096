/**
 * GET /admin/reports/tenants: a page of tenants, optionally with counts (fan-out.ts); tenants whose
 * counts failed are listed under `failures`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { after, page } from '../pagination/keyset-cursor.js';
import { tiers } from '../tenants/placement.js';
import { fanOutGrouped } from './fan-out.js';
import { tenantCounts } from './tenant-counts.js';

const reportQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(1000),
    cursor: z.string().max(200).optional(),
    tier: z.enum(tiers).optional(),
    include: z.literal('counts').optional(),
  })
  .strict();

const counts = z.object({ leads: z.number().int(), deals: z.number().int(), users: z.number().int() });
const report = z.object({
  items: z.array(z.object({ id: z.uuid(), slug: z.string(), tier: z.enum(tiers), status: z.string(), plan: z.string(), counts: counts.nullable().optional() })),
  failures: z.array(z.object({ tenantId: z.uuid(), slug: z.string(), error: z.string() })),
  nextCursor: z.string().nullable(),
});

export const reportRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;

  app.get('/admin/reports/tenants', { schema: { querystring: reportQuery, response: { 200: report } } }, async (request) => {
    const { limit, cursor, tier, include } = request.query;
    const rows = await platform.catalog.tenant.findMany({
      where: { tier, ...after('createdAt', cursor) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    const { items, nextCursor } = page(rows, limit, (t) => t.createdAt);
    // Tenants being set up or gone have no tables to count.
    const countable = include ? items.filter((t) => t.status !== 'provisioning' && t.status !== 'deleted') : [];
    const read = await fanOutGrouped({ servers: platform.servers, owners: platform.provisioning.owners }, countable, tenantCounts);
    return {
      items: items.map(({ id, slug, tier, status, plan }) => ({ id, slug, tier, status, plan, ...(include ? { counts: read.results.get(id) ?? null } : {}) })),
      failures: read.failures,
      nextCursor,
    };
  });
};
