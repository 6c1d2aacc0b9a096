/**
 * HTTP benchmark of the tenant API: `GET /leads?limit=20` and `GET /leads/:id` through the full
 * stack (JWT, tenant resolution, rate limiting, router, RLS) per tier, against a bare Fastify + pg
 * route running the same query with no tenancy, measured in the same run with autocannon on
 * loopback. Also the cost of authentication alone: an empty route behind the tenant token check
 * against the same route without it. The two sides of a pair take turns in one-second slices
 * (`--seconds` each in all), so load from elsewhere on a shared machine falls on both alike; the
 * ratio is of their total requests, with the spread of the slices' ratios.
 * `npm run bench -- http-leads [--seconds N] [--connections N]`
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg, { escapeIdentifier } from 'pg';
import { buildApp } from '../../src/app.js';
import { signAccessToken } from '../../src/auth/tokens.js';
import { tiers } from '../../src/tenants/placement.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { createUser } from '../../src/users/user-store.js';
import { percentile, round, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'http-leads'),
  options: { seconds: { type: 'string', default: '8' }, connections: { type: 'string', default: '32' } },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const sliceSeconds = 1;
const slices = Math.max(1, Math.round(seconds / sliceSeconds));

type Run = Awaited<ReturnType<typeof hammer>>;

/**
 * A baseline and a contender in alternating slices (b c, c b, …) after a warm-up of each: the
 * ratio of their total requests, the spread (p25–p75) of the slices' ratios, and the medians of
 * the slices' req/s and latency percentiles.
 */
async function compare(baseline: () => Promise<Run>, contender: () => Promise<Run>) {
  await baseline();
  await contender();
  const runs: { baseline: Run; contender: Run }[] = [];
  for (let i = 0; i < slices; i++) {
    const first = i % 2 ? contender : baseline;
    const a = await first();
    const b = await (i % 2 ? baseline : contender)();
    runs.push(i % 2 ? { baseline: b, contender: a } : { baseline: a, contender: b });
  }
  const total = (side: 'baseline' | 'contender') => runs.reduce((sum, r) => sum + r[side].total, 0);
  const ratios = runs.map((r) => r.contender.total / r.baseline.total);
  const side = (name: 'baseline' | 'contender') => ({
    perSecond: total(name) / (slices * sliceSeconds),
    p50: percentile(
      runs.map((r) => r[name].p50),
      50,
    ),
    p99: percentile(
      runs.map((r) => r[name].p99),
      50,
    ),
  });
  return {
    ratio: total('contender') / total('baseline'),
    low: percentile(ratios, 25),
    high: percentile(ratios, 75),
    baseline: side('baseline'),
    contender: side('contender'),
    runs,
  };
}

const pct = (ratio: number) => `${round(ratio * 100)}%`;

function row(measure: string, result: Awaited<ReturnType<typeof compare>>, target: string, met: string) {
  return {
    measure,
    'baseline req/s': round(result.baseline.perSecond, 0),
    'strata req/s': round(result.contender.perSecond, 0),
    ratio: `${pct(result.ratio)} (slices ${pct(result.low)}–${pct(result.high)})`,
    target,
    met,
    'baseline p50/p99 ms': `${result.baseline.p50} / ${result.baseline.p99}`,
    'strata p50/p99 ms': `${result.contender.p50} / ${result.contender.p99}`,
  };
}

async function hammer(url: string, headers: Record<string, string> = {}) {
  const result = await autocannon({ url, connections, duration: sliceSeconds, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99 };
}

const overrides = { STRATA_RATE_LIMIT_PLANS: 'free=1000000', STRATA_RATE_LIMIT_ANON_PER_MINUTE: '1000000', LOG_LEVEL: 'silent' };
await withBenchPlatform('http', overrides, async (platform) => {
  const app = await buildApp({ config: platform.config, platform });
  // The cost of authentication alone: the same empty route with and without the tenant token check
  // (JWT, catalog lookup, status and header checks, router handle). Both are rate limited.
  app.get('/bench/anonymous', async () => ({ ok: true }));
  app.get('/bench/authenticated', { onRequest: app.authenticateTenant }, async () => ({ ok: true }));
  const strataUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  // The baseline: same server framework, same query, a plain pool, no auth and no tenancy.
  const bare = Fastify();
  const pools = new Map<string, pg.Pool>();
  const poolFor = (database: string) => {
    let pool = pools.get(database);
    if (!pool) {
      const url = new URL(platform.adminUrl);
      url.pathname = `/${database}`;
      pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
      pools.set(database, pool);
    }
    return pool;
  };
  bare.get<{ Params: { db: string; schema: string; tenant: string } }>('/:db/:schema/:tenant/leads', async (request) => {
    const { db, schema, tenant } = request.params;
    const { rows } = await poolFor(db).query(
      `SELECT * FROM ${escapeIdentifier(schema)}.leads WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21`,
      [tenant],
    );
    return { items: rows.slice(0, 20), nextCursor: null };
  });
  bare.get<{ Params: { db: string; schema: string; tenant: string; id: string } }>('/:db/:schema/:tenant/leads/:id', async (request) => {
    const { db, schema, tenant, id } = request.params;
    const { rows } = await poolFor(db).query(`SELECT * FROM ${escapeIdentifier(schema)}.leads WHERE tenant_id = $1 AND id = $2`, [tenant, id]);
    return rows[0];
  });
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

  const rows: Record<string, string | number>[] = [];
  let authRow: Record<string, string | number> | undefined;
  const data: Record<string, unknown> = {};
  try {
    for (const tier of tiers) {
      // The guards in force (statement timeout, the fair queue), the concurrency cap as wide as the
      // pool (STRATA_POOL_MAX, 10): the bare side's pool has 10 connections too.
      const config = { limits: { maxConcurrentStatements: 10 } };
      const tenant = await provisionTenant(platform.provisioning, { slug: `http-${tier}`, name: tier, plan: 'free', tier, config });
      const db = platform.router.clientFor(tenant);
      const { user } = await createUser(
        { db, catalog: platform.catalog, tenantId: tenant.id },
        { email: `owner@${tier}.example`, name: 'owner', role: 'owner', password: 'bench password 123' },
      );
      await db.lead.createMany({ data: Array.from({ length: 200 }, (_, i) => ({ name: `lead ${i}`, ownerId: user.id })) });
      const lead = await db.lead.findFirstOrThrow();
      const token = signAccessToken(platform.config.jwt, { sub: user.id, tid: tenant.id, role: 'owner', ver: user.version }, 3600);
      const auth = { authorization: `Bearer ${token}` };
      const base = `${bareUrl}/${tenant.databaseName}/${tenant.schemaName}/${tenant.id}`;
      for (const [route, strata, plain] of [
        ['GET /leads?limit=20', `${strataUrl}/leads?limit=20`, `${base}/leads`],
        ['GET /leads/:id', `${strataUrl}/leads/${lead.id}`, `${base}/leads/${lead.id}`],
      ] as const) {
        const result = await compare(
          () => hammer(plain),
          () => hammer(strata, auth),
        );
        const pooledOrSchema = tier !== 'dedicated';
        rows.push(row(`${tier} ${route}`, result, pooledOrSchema ? '≥ 60%' : '—', pooledOrSchema ? (result.ratio >= 0.6 ? 'yes' : 'no') : '—'));
        data[`${tier} ${route}`] = result;
      }
      if (tier === 'pooled') {
        const result = await compare(
          () => hammer(`${strataUrl}/bench/anonymous`),
          () => hammer(`${strataUrl}/bench/authenticated`, auth),
        );
        authRow = row('authentication on an empty route (cost = 1 − ratio)', result, 'cost ≤ 10% (ratio ≥ 90%)', result.ratio >= 0.9 ? 'yes' : 'no');
        data['authentication'] = result;
      }
    }
  } finally {
    await bare.close();
    await Promise.all([...pools.values()].map((p) => p.end()));
    await app.close();
  }
  await writeResults('http-leads', {
    title: `Tenant API over HTTP: autocannon, ${connections} connections, ${slices} alternating slices of ${sliceSeconds} s per side`,
    rows: authRow ? [...rows, authRow] : rows,
    notes: [
      'baseline: a bare Fastify + pg route, same query as a superuser, no JWT, no tenancy; strata: JWT, tenant resolution, rate limit, usage count, router, RLS',
      "ratio: strata / baseline total requests over the same slices (spread: p25–p75 of the slices); latency: median over the slices of each slice's p50 / p99; met: the ratio meets the target",
      "autocannon runs in the servers' process (as both servers do): the load generator takes the same share from either side",
      "tenants on the free plan with their guards in force (5 s statement timeout, fair queue), the concurrency cap raised to the pool size (10) like the bare side's pool",
      "authentication row: the app's own empty route without auth (baseline) vs with the tenant token check (strata), both rate limited",
    ],
    data: { connections, seconds, sliceSeconds, ...data },
  });
});
