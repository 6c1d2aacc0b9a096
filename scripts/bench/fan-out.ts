/**
 * Fleet reads (fan-out): leads, deals and users counted for N tenants of mixed tiers (70% pooled,
 * 25% schema, 5% dedicated), three ways in the same run, alternating:
 * - naive: one tenant after another through its router client (three counts each);
 * - fan-out: the same reads through the router, 4 at once per server;
 * - grouped: the admin report's path, one statement per chunk of pooled tenants, schema tenants
 *   in batches, one per dedicated database.
 * Every way must return the same counts.
 * `npm run bench -- fan-out [--tenants 1000] [--rounds 3]`
 */
import { parseArgs } from 'node:util';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { fanOut, fanOutGrouped } from '../../src/fleet/fan-out.js';
import { tenantCounts, type TenantCounts } from '../../src/fleet/tenant-counts.js';
import type { Platform } from '../../src/platform/platform.js';
import type { TenantClient } from '../../src/router/tenant-router.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { round, timed, withBenchPlatform, writeResults } from './bench-kit.js';
import { buildSchemaFleet } from './schema-fleet.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'fan-out'),
  options: { tenants: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
});
const total = Number(values.tenants);
const rounds = Number(values.rounds);
const counts = { dedicated: Math.max(1, Math.round(total * 0.05)), schema: Math.round(total * 0.25) };
const pooledCount = total - counts.dedicated - counts.schema;

async function buildPooled(platform: Platform, count: number): Promise<Tenant[]> {
  const server = platform.defaultServer;
  await platform.catalog.tenant.createMany({
    data: Array.from({ length: count }, (_, i) => {
      const slug = `pool-${String(i).padStart(5, '0')}`;
      return {
        slug,
        name: slug,
        plan: 'free',
        tier: 'pooled' as const,
        status: 'active' as const,
        serverId: server.id,
        schemaName: 'public',
        databaseName: server.tenantsDatabase,
      };
    }),
  });
  return platform.catalog.tenant.findMany({ where: { slug: { startsWith: 'pool-' } } });
}

/** Tenant i gets i % 7 leads, i % 3 deals and one user. */
async function seed(platform: Platform, tenants: Tenant[]) {
  await fanOut(
    platform.router,
    tenants,
    async (db, tenant) => {
      const i = tenants.indexOf(tenant);
      await db.user.create({ data: { email: `u${i}@bench.example`, name: 'user', role: 'owner', passwordHash: 'not a hash' } });
      const leads = await Promise.all(Array.from({ length: i % 7 }, (_, n) => db.lead.create({ data: { name: `lead ${n}` } })));
      for (let n = 0; n < i % 3; n++) await db.deal.create({ data: { title: `deal ${n}`, amount: '1.00', currency: 'EUR', leadId: leads[0]?.id ?? null } });
    },
    { concurrencyPerServer: 8, timeoutMs: 60_000 },
  );
}

const countsOf = async (db: TenantClient): Promise<TenantCounts> => ({
  leads: await db.lead.count(),
  deals: await db.deal.count(),
  users: await db.user.count(),
});

await withBenchPlatform('fanout', { STRATA_SPARE_SCHEMAS: '0', STRATA_MAX_POOLS: '200', LOG_LEVEL: 'silent' }, async (platform) => {
  console.error(`building ${pooledCount} pooled, ${counts.schema} schema and ${counts.dedicated} dedicated tenants`);
  const dedicated: Tenant[] = [];
  for (let i = 0; i < counts.dedicated; i++) {
    dedicated.push(await provisionTenant(platform.provisioning, { slug: `ded-${i}`, name: `ded ${i}`, plan: 'free', tier: 'dedicated' }));
  }
  const tenants = [...(await buildPooled(platform, pooledCount)), ...(await buildSchemaFleet(platform, 'sch', counts.schema)), ...dedicated];
  await seed(platform, tenants);

  const ways = {
    naive: async () => {
      const results = new Map<string, TenantCounts>();
      for (const tenant of tenants) results.set(tenant.id, await countsOf(platform.router.clientFor(tenant)));
      return { results, failures: [] as unknown[] };
    },
    'fan-out': () => fanOut(platform.router, tenants, countsOf, { concurrencyPerServer: 4 }),
    grouped: () => fanOutGrouped({ servers: platform.servers, owners: platform.provisioning.owners }, tenants, tenantCounts, { concurrencyPerServer: 4 }),
  };
  const samples: Record<keyof typeof ways, number[]> = { naive: [], 'fan-out': [], grouped: [] };
  let reference: Map<string, TenantCounts> | undefined;
  // A warm-up pass of each (pools, statements), then alternating timed rounds.
  for (let r = 0; r <= rounds; r++) {
    for (const [name, run] of Object.entries(ways) as [keyof typeof ways, () => Promise<{ results: Map<string, TenantCounts>; failures: unknown[] }>][]) {
      const { ms, value } = await timed(run);
      if (value.failures.length) throw new Error(`${name}: ${value.failures.length} tenants failed: ${JSON.stringify(value.failures[0])}`);
      reference ??= value.results;
      for (const tenant of tenants) {
        if (JSON.stringify(value.results.get(tenant.id)) !== JSON.stringify(reference.get(tenant.id)))
          throw new Error(`${name} counted ${tenant.slug} differently`);
      }
      if (r > 0) samples[name].push(ms);
    }
  }
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const naive = median(samples.naive);
  const rows = (Object.keys(samples) as (keyof typeof ways)[]).map((name) => ({
    measure: `${name}, ${tenants.length} mixed tenants`,
    'median ms': round(median(samples[name])),
    'per tenant µs': round((median(samples[name]) * 1000) / tenants.length, 0),
    value: `${round(naive / median(samples[name]), 1)}× naive`,
    target: name === 'grouped' ? '≥ 5× naive' : '—',
    met: name === 'grouped' ? (naive / median(samples[name]) >= 5 ? 'yes' : 'no') : '',
  }));
  await writeResults('fan-out', {
    title: `Fleet report reads: ${pooledCount} pooled, ${counts.schema} schema, ${counts.dedicated} dedicated tenants (${rounds} rounds, median)`,
    rows,
    notes: ['Counts of leads, deals and users per tenant; every way returned the same counts for every tenant.'],
    data: { samples, tenants: { pooled: pooledCount, ...counts } },
  });
});
