/**
 * Data-layer benchmark of the tier router: single-row reads by id through a tenant-bound client
 * (RLS context set below Prisma, schema rewritten) against plain Prisma reads of the same rows
 * with no tenancy at all (a BYPASSRLS superuser, explicit tenant filter), per tier, at 32
 * concurrent callers, measured in the same run. Target (DESIGN.md §4): ≥ 85% of plain.
 * `npm run bench -- router-reads [--seconds N]`
 */
import { parseArgs } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import pg, { escapeIdentifier } from 'pg';
import { PrismaClient } from '../../src/generated/tenant/client.js';
import { tiers } from '../../src/tenants/placement.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { percentile, round, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== 'router-reads'), options: { seconds: { type: 'string', default: '6' } } });
const seconds = Number(values.seconds);
const concurrency = 32;
const rowsPerTenant = 1000;

const sliceMs = 200;

interface Slice {
  reads: number;
  /** This process's CPU time over the slice, µs: in this bench Node, not PostgreSQL, is the bottleneck. */
  cpuMicros: number;
  latencies: number[];
}

/** `concurrency` callers reading ids for `ms`. */
async function slice(read: (id: string) => Promise<unknown>, ids: string[], ms: number): Promise<Slice> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const deadline = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      let i = worker * 97 + latencies.length;
      while (performance.now() < deadline) {
        const started = performance.now();
        await read(ids[i++ % ids.length]!);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpu);
  return { reads: latencies.length, cpuMicros: user + system, latencies };
}

/**
 * Plain and bound reads taking turns in short slices (plain-bound, then bound-plain), `seconds`
 * each in all, so drift in what the rest of a shared machine does falls on both alike. The ratio
 * is of total reads; the spread of the per-pair ratios (quartiles) shows how steady it was.
 */
async function compare(plain: (id: string) => Promise<unknown>, bound: (id: string) => Promise<unknown>, ids: string[]) {
  for (let i = 0; i < 200; i++) await Promise.all([plain(ids[i % ids.length]!), bound(ids[i % ids.length]!)]); // warm-up
  const slices = { plain: [] as Slice[], bound: [] as Slice[] };
  for (let i = 0; i < (seconds * 1000) / sliceMs; i++) {
    for (const side of i % 2 ? (['bound', 'plain'] as const) : (['plain', 'bound'] as const)) {
      slices[side].push(await slice(side === 'plain' ? plain : bound, ids, sliceMs));
    }
  }
  const summary = (of: Slice[]) => {
    const reads = of.reduce((n, s) => n + s.reads, 0);
    const latencies = of.flatMap((s) => s.latencies);
    return {
      perSecond: reads / seconds,
      cpuMicrosPerRead: of.reduce((n, s) => n + s.cpuMicros, 0) / reads,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  };
  const pairRatios = slices.bound.map((s, i) => s.reads / slices.plain[i]!.reads);
  const baseline = summary(slices.plain);
  const tenantBound = summary(slices.bound);
  return {
    baseline,
    bound: tenantBound,
    ratio: tenantBound.perSecond / baseline.perSecond,
    spread: [percentile(pairRatios, 25), percentile(pairRatios, 75)] as const,
  };
}

await withBenchPlatform('router', { STRATA_POOL_MAX: '10', STRATA_DEDICATED_POOL_MAX: '10' }, async (platform) => {
  const rows: Record<string, string | number>[] = [];
  const data: Record<string, unknown> = {};
  for (const tier of tiers) {
    // The guards in force (statement timeout, the fair queue), the concurrency cap as wide as the pool:
    // the plain side's pool has 10 connections too.
    const config = { limits: { maxConcurrentStatements: 10 } };
    const tenant = await provisionTenant(platform.provisioning, { slug: `bench-${tier}`, name: tier, plan: 'free', tier, config });
    // A neighbour with as many rows, so the pooled tier's RLS really filters.
    const neighbour = await provisionTenant(platform.provisioning, { slug: `bench-${tier}-n`, name: tier, plan: 'free', tier });
    const db = platform.router.clientFor(tenant);
    await platform.router.clientFor(neighbour).lead.createMany({ data: Array.from({ length: rowsPerTenant }, (_, i) => ({ name: `n${i}` })) });
    await db.lead.createMany({ data: Array.from({ length: rowsPerTenant }, (_, i) => ({ name: `lead ${i}` })) });
    const ids = (await db.lead.findMany({ select: { id: true } })).map((r) => r.id).sort(() => Math.random() - 0.5);

    const url = new URL(platform.adminUrl);
    url.pathname = `/${tenant.databaseName}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
    const plain = new PrismaClient({ adapter: new PrismaPg(pool, { schema: tenant.schemaName }) });
    // findFirst runs one query per call; findUnique calls made in the same tick are batched by Prisma.
    const sql = `SELECT * FROM ${escapeIdentifier(tenant.schemaName)}.leads WHERE tenant_id = $1 AND id = $2`;
    const shapes = {
      findFirst: {
        plain: (id: string) => plain.lead.findFirst({ where: { tenantId: tenant.id, id } }),
        bound: (id: string) => db.lead.findFirst({ where: { id } }),
      },
      findUnique: {
        plain: (id: string) => plain.lead.findUnique({ where: { tenantId_id: { tenantId: tenant.id, id } } }),
        bound: (id: string) => db.lead.findUnique({ where: { tenantId_id: { tenantId: tenant.id, id } } }),
      },
      // The router's path around Prisma (src/router/tenant-sql.ts) against plain pg, as the API reads a lead by id.
      'raw SQL': {
        plain: (id: string) => pool.query(sql, [tenant.id, id]),
        bound: (id: string) => db.$rows('SELECT * FROM leads WHERE id = $1', [id], { genericPlan: true }),
      },
    };
    for (const [shape, read] of Object.entries(shapes)) {
      const { baseline, bound, ratio, spread } = await compare(read.plain, read.bound, ids);
      rows.push({
        measure: `${tier} ${shape}`,
        'plain reads/s': round(baseline.perSecond, 0),
        'tenant-bound reads/s': round(bound.perSecond, 0),
        ratio: `${round(ratio * 100)}%`,
        'slice pairs (quartiles)': `${round(spread[0] * 100, 0)}–${round(spread[1] * 100, 0)}%`,
        target: '≥ 85%',
        met: ratio >= 0.85 ? 'yes' : 'no',
        'CPU µs/read plain, bound': `${round(baseline.cpuMicrosPerRead, 0)}, ${round(bound.cpuMicrosPerRead, 0)}`,
        'plain p50/p99 ms': `${round(baseline.p50, 2)} / ${round(baseline.p99, 2)}`,
        'bound p50/p99 ms': `${round(bound.p50, 2)} / ${round(bound.p99, 2)}`,
      });
      data[`${tier}.${shape}`] = { baseline, bound, ratio, spread };
    }
    await plain.$disconnect();
    await pool.end();
  }
  await writeResults('router-reads', {
    title: `Tier router, data layer: reads by id at ${concurrency} concurrent callers (${seconds} s per side, in alternating ${sliceMs} ms slices)`,
    rows,
    notes: [
      'plain: Prisma 7 + adapter-pg as a superuser (RLS bypassed) with an explicit tenant filter; bound: the router client, RLS enforced',
      "raw SQL: plain pg as a superuser with the tenant filter vs the router's $rows (context pipelined with the statement, RLS enforced)",
      'on direct runtime connections the router keeps the context statement and statements used more than once prepared (behind a runtime endpoint such as PgBouncer both are parsed with every read); Prisma reads are planned for their values every time, the raw read by id (as the API reads a lead) may keep one plan',
      'target: tenant-bound ≥ 85% of plain',
    ],
    data: { concurrency, seconds, sliceMs, rowsPerTenant, ...data },
  });
});
