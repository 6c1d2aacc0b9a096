/** GET /admin/migrations, for platform admins. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { databaseNames } from '../platform/platform.js';
import { tiers } from '../tenants/placement.js';
import { migrationDirs, readMigrations } from './migration-files.js';
import { migrationStatus, targetStates } from './migration-status.js';

const statusQuery = z
  .object({
    tier: z.enum(['catalog', ...tiers]).optional(),
    /** Catalog name of a database server. */
    server: z.string().min(1).max(100).optional(),
  })
  .strict();

const targetRow = z.object({
  target: z.string(),
  kind: z.enum(['catalog', ...tiers, 'spare']),
  server: z.string(),
  tenant: z.string().nullable(),
  state: z.enum(targetStates),
  lastApplied: z.string().nullable(),
  pending: z.array(z.string()),
  error: z.string().nullable(),
  failedAt: z.string().nullable(),
  /** Pooled targets: how many live tenants they hold. */
  carries: z.number().int().optional(),
});

export const migrationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;
  const migrations = { catalog: await readMigrations(migrationDirs.catalog), tenant: platform.provisioning.tenantMigrations };
  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };

  app.get('/admin/migrations', { schema: { querystring: statusQuery, response: { 200: z.object({ items: z.array(targetRow) }) } } }, async (request) => {
    const { tier, server } = request.query;
    const items = await migrationStatus(
      { catalog: platform.catalog, catalogTarget, migrations },
      { tier: tier ? [tier] : undefined, server: server ? [server] : undefined },
    );
    return { items };
  });
};
