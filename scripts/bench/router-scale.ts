/**
 * The tier router at scale (proof-of-isolation issue): N schema tenants (default 10,000), each
 * requested through the API in turn, round-robin. Measures the latency of each tenant's first
 * request (cold: token, catalog lookup, router handle, the schema's first statements) and of later
 * ones (warm), the process's RSS, and the connections the router opened against its budget.
 *
 * The fleet is built in bulk (schema-fleet.ts): provisioning one tenant at a time would take most
 * of the bench's budget.
 * `npm run bench -- router-scale [--tenants N] [--concurrency N]`
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { signAccessToken } from '../../src/auth/tokens.js';
import { percentile, round, timed, withBenchPlatform, writeResults } from './bench-kit.js';
import { buildSchemaFleet } from './schema-fleet.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'router-scale'),
  options: { tenants: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '4' } },
});
const tenantCount = Number(values.tenants);
const concurrency = Number(values.concurrency);

await withBenchPlatform('scale', { STRATA_RATE_LIMIT_PLANS: 'free=1000000', STRATA_SPARE_SCHEMAS: '0', LOG_LEVEL: 'silent' }, async (platform) => {
  console.error(`building ${tenantCount} schema tenants in bulk`);
  const build = await timed(() => buildSchemaFleet(platform, 'scale', tenantCount));
  const tenants = build.value;
  const tokens = tenants.map((tenant) => signAccessToken(platform.config.jwt, { sub: crypto.randomUUID(), tid: tenant.id, role: 'owner' }, 3600));

  const app = await buildApp({ config: platform.config, platform });
  await app.ready();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const rssBefore = process.memoryUsage().rss;

  /** Every tenant once, in order, `concurrency` at a time: each request's latency in ms. */
  async function pass(): Promise<number[]> {
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < tenants.length) {
          const i = next++;
          const started = performance.now();
          const res = await app.inject({ method: 'GET', url: '/leads?limit=20', headers: { authorization: `Bearer ${tokens[i]}` } });
          latencies.push(performance.now() - started);
          if (res.statusCode !== 200) throw new Error(`tenant ${tenants[i]!.slug}: ${res.statusCode} ${res.payload}`);
        }
      }),
    );
    return latencies;
  }

  try {
    const cold = await pass();
    const warm = await pass();
    clearInterval(sampler);
    const rss = process.memoryUsage().rss;
    const stats = platform.router.stats();
    const admin = new pg.Client({ connectionString: platform.adminUrl });
    await admin.connect();
    const { rows } = await admin
      .query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [platform.defaultServer.runtimeRole])
      .finally(() => admin.end());
    const budget = platform.config.router.connectionBudget;
    const mib = (bytes: number) => round(bytes / 2 ** 20, 0);
    const summary = (ms: number[]) => ({ p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) });
    const coldMs = summary(cold);
    const warmMs = summary(warm);
    const resultRows = [
      {
        measure: 'cold request (first per tenant), p50 / p99 ms',
        value: `${round(coldMs.p50, 2)} / ${round(coldMs.p99, 2)}`,
        target: 'p99 ≤ 50 ms',
        met: coldMs.p99 <= 50 ? 'yes' : 'no',
      },
      { measure: 'warm request, p50 / p99 ms', value: `${round(warmMs.p50, 2)} / ${round(warmMs.p99, 2)}`, target: '—', met: '—' },
      { measure: 'RSS after both passes (peak) MiB', value: `${mib(rss)} (${mib(peakRss)})`, target: '≤ 1024 MiB', met: peakRss <= 2 ** 30 ? 'yes' : 'no' },
      {
        measure: 'runtime connections open (router / server-side)',
        value: `${stats.connections} / ${rows[0]!.n}`,
        target: `≤ budget ${budget}`,
        met: rows[0]!.n <= budget ? 'yes' : 'no',
      },
    ];
    await writeResults('router-scale', {
      title: `Tier router at scale: ${tenantCount} schema tenants, each requested in turn (GET /leads?limit=20, ${concurrency} at a time)`,
      rows: resultRows,
      notes: [
        `fleet built in bulk in ${round(build.ms / 1000)} s (catalog rows, schemas, fleet runner migrating ${tenantCount} schemas, activation)`,
        'requests through app.inject (the whole Fastify pipeline, no sockets): JWT, tenant resolution, rate limit, router, RLS',
        `RSS before the passes ${mib(rssBefore)} MiB (platform, app and ${tenantCount} tokens); router: ${stats.handles} tenant handles, ${stats.pools} pool(s)`,
      ],
      data: { tenantCount, concurrency, buildMs: build.ms, coldMs, warmMs, rss, peakRss, rssBefore, router: stats, serverConnections: rows[0]!.n, budget },
    });
  } finally {
    clearInterval(sampler);
    await app.close();
  }
});
