/**
 * HTTP benchmark of the tenant API: `GET /leads?limit=20` and `GET /leads/:id` through the full
 * stack (JWT, tenant resolution, rate limiting, router, RLS) per tier, against a bare Fastify + pg
 * route running the same query with no tenancy, measured in the same run with autocannon on
 * loopback. Also the cost of authentication alone: an empty route behind the tenant token check
 * against the same route without it. Each pair is measured `--rounds` times, back to back; the
 * table gives the range of the ratios (the machine is shared: only ratios of one round compare).
 * `npm run bench -- http-leads [--seconds N] [--connections N] [--rounds N]`
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
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
  },
});
const duration = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);

type Run = Awaited<ReturnType<typeof hammer>>;

/** `rounds` back-to-back measurements of a baseline and a contender: the ratios' range and each side's runs. */
async function compare(baseline: () => Promise<Run>, contender: () => Promise<Run>) {
  const runs: { baseline: Run; contender: Run; ratio: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const b = await baseline();
    const c = await contender();
    runs.push({ baseline: b, contender: c, ratio: c.perSecond / b.perSecond });
  }
  const ratios = runs.map((r) => r.ratio);
  return { runs, min: Math.min(...ratios), max: Math.max(...ratios) };
}

const pct = (ratio: number) => `${round(ratio * 100)}%`;
const range = (low: number, high: number) => (rounds > 1 ? `${pct(low)}–${pct(high)}` : pct(low));
const perSecond = (runs: Run[]) => runs.map((r) => round(r.perSecond, 0)).join(', ');
const latency = (runs: Run[]) => runs.map((r) => `${r.p50}/${r.p99}`).join(', ');

async function hammer(url: string, headers: Record<string, string> = {}) {
  const result = await autocannon({ url, connections, duration, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { perSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
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
        const result = await compare(
          () => hammer(plain),
          () => hammer(strata, auth),
        );
        const met = tier === 'dedicated' ? '—' : result.min >= 0.6 ? 'yes' : 'no';
        rows.push({
          measure: `${tier} ${route}`,
          'baseline req/s': perSecond(result.runs.map((r) => r.baseline)),
          'strata req/s': perSecond(result.runs.map((r) => r.contender)),
          ratio: range(result.min, result.max),
          target: tier === 'dedicated' ? '—' : '≥ 60%',
          met,
          'baseline p50/p99 ms': latency(result.runs.map((r) => r.baseline)),
          'strata p50/p99 ms': latency(result.runs.map((r) => r.contender)),
        });
        data[`${tier} ${route}`] = result;
      }
      if (tier === 'pooled') {
        const result = await compare(
          () => hammer(`${strataUrl}/bench/anonymous`),
          () => hammer(`${strataUrl}/bench/authenticated`, auth),
        );
        authRow = {
          measure: 'authentication on an empty route (cost = 1 − ratio)',
          'baseline req/s': perSecond(result.runs.map((r) => r.baseline)),
          'strata req/s': perSecond(result.runs.map((r) => r.contender)),
          ratio: range(result.min, result.max),
          target: 'cost ≤ 10% (ratio ≥ 90%)',
          met: result.min >= 0.9 ? 'yes' : 'no',
          'baseline p50/p99 ms': latency(result.runs.map((r) => r.baseline)),
          'strata p50/p99 ms': latency(result.runs.map((r) => r.contender)),
        };
        data['authentication'] = result;
      }
    }
  } finally {
    await bare.close();
    await Promise.all([...pools.values()].map((p) => p.end()));
    await app.close();
  }
  await writeResults('http-leads', {
    title: `Tenant API over HTTP: autocannon, ${connections} connections, ${duration} s per run, ${rounds} round(s)`,
    rows: authRow ? [...rows, authRow] : rows,
    notes: [
      'baseline: a bare Fastify + pg route, same query as a superuser, no JWT, no tenancy; strata: JWT, tenant resolution, rate limit, usage count, router, RLS',
      'req/s and latency list one value per round; ratio is strata / baseline, its range over the rounds; met = the lowest ratio meets the target',
      'autocannon runs in the servers\' process (as both servers do): the load generator takes the same share from either side',
      'authentication row: the app\'s own empty route without auth (baseline) vs with the tenant token check (strata), both rate limited',
    ],
    data: { connections, duration, rounds, ...data },
  });
});
