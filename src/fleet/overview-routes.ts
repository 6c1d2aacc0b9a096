/** GET /admin/fleet (fleet-overview.ts), for platform admins and the console. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tiers } from '../tenants/placement.js';
import { fleetOverview } from './fleet-overview.js';

const perTier = z.object({ pooled: z.number().int(), schema: z.number().int(), dedicated: z.number().int() });

const overview = z.object({
  tenants: z.array(z.object({ tier: z.enum(tiers), status: z.string(), count: z.number().int() })),
  servers: z.array(
    z.object({
      name: z.string(),
      host: z.string(),
      port: z.number().int(),
      acceptsNewTenants: z.boolean(),
      maxConnections: z.number().int(),
      /** Not deleted. */
      tenants: perTier,
      reachable: z.boolean(),
      /** pg_stat_activity, when it answered. */
      connections: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
  ),
  /** Per UTC day, the last 14 days that had any. */
  requestsPerDay: z.array(z.object({ day: z.string(), requests: z.number() })),
  topTenants: z.array(
    z.object({ id: z.uuid(), slug: z.string(), tier: z.enum(tiers), plan: z.string(), status: z.string(), today: z.number(), last30Days: z.number() }),
  ),
  movesRunning: z.number().int(),
  failedMigrations: z.number().int(),
});

export const overviewRoutes: FastifyPluginAsyncZod = async (app) => {
  const deps = { catalog: app.platform.catalog, owners: app.platform.provisioning.owners };
  app.get('/admin/fleet', { schema: { response: { 200: overview } } }, async () => fleetOverview(deps));
};
