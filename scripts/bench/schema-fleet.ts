/**
 * Schema tenants in bulk for the benchmarks that need thousands of them: provisioning one at a time
 * would take most of a benchmark's budget. Catalog rows in batches, empty schemas in one statement
 * per batch, then the fleet runner migrates them all (real schemas, real tables, RLS and history
 * rows, exactly what a provisioned schema tenant gets), then they are activated.
 */
import { escapeIdentifier } from 'pg';
import { applyFleet } from '../../src/migrations/fleet-runner.js';
import type { MigrationTarget } from '../../src/migrations/fleet-targets.js';
import type { Platform } from '../../src/platform/platform.js';
import { createProgressReporter } from '../../src/progress/progress-reporter.js';

const batch = 1000;

/** Creates `count` active schema tenants with slugs `<prefix>-00000…`; returns their catalog rows. */
export async function buildSchemaFleet(platform: Platform, prefix: string, count: number) {
  const server = platform.defaultServer;
  const slugs = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  const schemaOf = (slug: string) => `t_${slug.replaceAll('-', '_')}`;
  for (let i = 0; i < slugs.length; i += batch) {
    const chunk = slugs.slice(i, i + batch);
    await platform.catalog.tenant.createMany({
      data: chunk.map((slug) => ({
        slug,
        name: slug,
        plan: 'free',
        tier: 'schema' as const,
        serverId: server.id,
        schemaName: schemaOf(slug),
        databaseName: server.tenantsDatabase,
      })),
    });
    await platform.provisioning.owners.with(server, server.tenantsDatabase, (client) =>
      client.query(chunk.map((slug) => `CREATE SCHEMA ${escapeIdentifier(schemaOf(slug))};`).join('\n')),
    );
  }
  const targets: MigrationTarget[] = slugs.map((slug) => ({
    id: `schema:${slug}`,
    kind: 'schema',
    stream: 'tenant',
    server,
    database: server.tenantsDatabase,
    schema: schemaOf(slug),
    tenantSlug: slug,
  }));
  const report = await applyFleet(targets, {
    migrations: { catalog: [], tenant: platform.provisioning.tenantMigrations },
    baselines: { tenant: platform.provisioning.tenantBaseline },
    concurrency: 4,
    // A bar on a terminal; the benchmark's own summary is enough in a log.
    progress: process.stderr.isTTY ? createProgressReporter({ tty: true, out: process.stderr, err: process.stderr }) : undefined,
  });
  if (!report.ok) throw new Error(`building the fleet failed: ${JSON.stringify(report.counts)}`);
  await platform.catalog.tenant.updateMany({ where: { slug: { startsWith: `${prefix}-` } }, data: { status: 'active' } });
  return platform.catalog.tenant.findMany({ where: { slug: { startsWith: `${prefix}-` } }, orderBy: { slug: 'asc' } });
}
