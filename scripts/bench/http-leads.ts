/**
 * HTTP benchmark of the tenant API: `GET /leads?limit=20` and `GET /leads/:id` through the full
 * stack (JWT, tenant resolution, rate limiting, router, RLS) per tier, against a bare Fastify + pg
 * route running the same query with no tenancy, measured in the same run with autocannon on
 * loopback. `npm run bench -- http-leads [--seconds N] [--connections N]`
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
import { round, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'http-leads'),
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
});
const duration = Number(values.seconds);
const connections = Number(values.connections);

async function hammer(url: string, headers: Record<string, string> = {}) {
  const result = await autocannon({ url, connections, duration, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { perSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

await withBenchPlatform('http', { STRATA_RATE_LIMIT_PLANS: 'free=1000000', LOG_LEVEL: 'silent' }, async (platform) => {
  const app = await buildApp({ config: platform.config, platform });
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
  const data: Record<string, unknown> = {};
  try {
    for (const tier of tiers) {
      const tenant = await provisionTenant(platform.provisioning, { slug: `http-${tier}`, name: tier, plan: 'free', tier });
      const db = platform.router.clientFor(tenant);
      const { user } = await createUser(
        { db, catalog: platform.catalog, tenantId: tenant.id },
        { email: `owner@${tier}.example`, name: 'owner', role: 'owner', password: 'bench password 123' },
      );
      await db.lead.createMany({ data: Array.from({ length: 200 }, (_, i) => ({ name: `lead ${i}`, ownerId: user.id })) });
      const lead = await db.lead.findFirstOrThrow();
      const token = signAccessToken(platform.config.jwt, { sub: user.id, tid: tenant.id, role: 'owner' }, 3600);
      const auth = { authorization: `Bearer ${token}` };
      const base = `${bareUrl}/${tenant.databaseName}/${tenant.schemaName}/${tenant.id}`;
      for (const [route, strata, plain] of [
        ['GET /leads?limit=20', `${strataUrl}/leads?limit=20`, `${base}/leads`],
        ['GET /leads/:id', `${strataUrl}/leads/${lead.id}`, `${base}/leads/${lead.id}`],
      ] as const) {
        const baseline = await hammer(plain);
        const full = await hammer(strata, auth);
        rows.push({
          tier,
          route,
          'bare req/s': round(baseline.perSecond, 0),
          'strata req/s': round(full.perSecond, 0),
          ratio: `${round((full.perSecond / baseline.perSecond) * 100)}%`,
          'bare p50/p99 ms': `${baseline.p50} / ${baseline.p99}`,
          'strata p50/p99 ms': `${full.p50} / ${full.p99}`,
        });
        data[`${tier} ${route}`] = { baseline, full };
      }
    }
  } finally {
    await bare.close();
    await Promise.all([...pools.values()].map((p) => p.end()));
    await app.close();
  }
  await writeResults('http-leads', {
    title: `Tenant API over HTTP: autocannon, ${connections} connections, ${duration} s per run`,
    rows,
    notes: [
      'bare: Fastify + pg, same query as a superuser, no JWT, no tenancy; strata: JWT, tenant resolution, rate limit, router, RLS',
      'target (proof-of-isolation issue): pooled and schema tiers ≥ 60% of the bare route',
    ],
    data: { connections, duration, ...data },
  });
});
