/**
 * What the RLS predicate costs (proof-of-isolation issue). The pooled leads table is loaded in
 * bulk with N rows of M tenants (default 1,000,000 / 100); the same indexed queries then run as
 * the runtime role under RLS (tenant context set, no tenant filter in the SQL) and as a
 * superuser, which bypasses RLS, with an explicit `WHERE tenant_id`: sequential on one connection,
 * alternating query by query, parsed with every execution and then as prepared statements. The
 * ratio of median latencies is the predicate's cost. The RLS plans are kept: the policy's `tenant_id = current_setting(…)::uuid` is an index condition,
 * computed once per scan (current_setting is stable), never a per-row filter, and so is the
 * query's own `status = …` (a leakproof text comparison: status is a text domain, not an enum,
 * whose comparison is not leakproof and under RLS was a filter over all the tenant's rows).
 * `npm run bench -- rls-cost [--rows N] [--tenants N] [--queries N] [--rounds N]`
 */
import { parseArgs } from 'node:util';
import pg, { escapeIdentifier } from 'pg';
import { percentile, round, timed, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'rls-cost'),
  options: {
    rows: { type: 'string', default: '1000000' },
    tenants: { type: 'string', default: '100' },
    queries: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
});
const rowCount = Number(values.rows);
const tenantCount = Number(values.tenants);
const queries = Number(values.queries);
const rounds = Number(values.rounds);

interface Shape {
  name: string;
  /** Under RLS: no tenant in the SQL. */
  rls: { text: string; values: (tenant: string, id: string) => unknown[] };
  /** Bypassing RLS: the tenant made explicit. */
  explicit: { text: string; values: (tenant: string, id: string) => unknown[] };
}

const shapes: Shape[] = [
  {
    name: 'lead by id',
    rls: { text: 'SELECT * FROM leads WHERE id = $1', values: (_t, id) => [id] },
    explicit: { text: 'SELECT * FROM leads WHERE tenant_id = $1 AND id = $2', values: (t, id) => [t, id] },
  },
  {
    name: 'first page (20, newest first)',
    rls: { text: 'SELECT * FROM leads ORDER BY created_at DESC, id DESC LIMIT 21', values: () => [] },
    explicit: { text: 'SELECT * FROM leads WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21', values: (t) => [t] },
  },
  {
    name: 'count by status',
    rls: { text: `SELECT count(*) FROM leads WHERE status = 'qualified'`, values: () => [] },
    explicit: { text: `SELECT count(*) FROM leads WHERE tenant_id = $1 AND status = 'qualified'`, values: (t) => [t] },
  },
];

await withBenchPlatform('rls', {}, async (platform) => {
  const server = platform.defaultServer;
  const database = server.tenantsDatabase;
  const url = new URL(platform.adminUrl);
  url.pathname = `/${database}`;
  const superuser = new pg.Client({ connectionString: url.toString() });
  await superuser.connect();
  try {
    console.error(`loading ${rowCount} leads of ${tenantCount} tenants`);
    const load = await timed(async () => {
      // The usual bulk load: secondary indexes dropped and rebuilt afterwards from their own
      // definitions, rows generated in one statement (generate_series) in primary key order.
      // The superuser is not subject to RLS.
      const { rows: indexes } = await superuser.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'leads' AND indexname <> 'leads_pkey'`,
      );
      for (const { indexname } of indexes) await superuser.query(`DROP INDEX ${escapeIdentifier(indexname)}`);
      await superuser.query(
        `INSERT INTO leads (tenant_id, id, name, status, created_at, updated_at)
         SELECT t.id, gen_random_uuid(), 'lead ' || g,
                (ARRAY['new', 'contacted', 'qualified', 'unqualified', 'converted'])[1 + g % 5],
                now() - g * interval '1 second', now()
           FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1::int)) t, generate_series(1, $2::int) g
          ORDER BY 1, 2`,
        [tenantCount, Math.ceil(rowCount / tenantCount)],
      );
      for (const { indexdef } of indexes) await superuser.query(indexdef);
      await superuser.query('VACUUM ANALYZE leads');
    });
    const { rows: sample } = await superuser.query<{ tenant_id: string; id: string }>(`SELECT tenant_id, id FROM leads TABLESAMPLE SYSTEM (1) LIMIT $1`, [
      queries,
    ]);

    /**
     * Makes the session act as one side, untimed: the runtime role (subject to RLS) with the
     * tenant's context, or the superuser again. Both sides run on this one connection: measured
     * on two, one server process could be scheduled beside the benchmark and the other not, which
     * moved the ratio by ±0.05 between rounds.
     */
    const actAs = (side: 'rls' | 'explicit', tenant: string) =>
      side === 'rls'
        ? superuser.query(`SELECT set_config('role', $1, false), set_config('app.tenant_id', $2, false)`, [server.runtimeRole, tenant])
        : superuser.query('RESET ROLE');
    /**
     * `queries` statements per side, one tenant after another, the two sides alternating query by
     * query (so drifting load on a shared machine hits both alike): each side's median in µs.
     */
    async function measure(shape: Shape, prepared: boolean): Promise<{ explicit: number; rls: number }> {
      const times = { explicit: [] as number[], rls: [] as number[] };
      for (let i = 0; i < queries; i++) {
        const { tenant_id: tenant, id } = sample[i % sample.length]!;
        for (const side of i % 2 ? (['rls', 'explicit'] as const) : (['explicit', 'rls'] as const)) {
          await actAs(side, tenant);
          const { text, values } = shape[side];
          const started = performance.now();
          await superuser.query({ name: prepared ? `${side} ${shape.name}` : undefined, text, values: values(tenant, id) });
          times[side].push((performance.now() - started) * 1000);
        }
      }
      return { explicit: percentile(times.explicit, 50), rls: percentile(times.rls, 50) };
    }

    async function warmUp(shape: Shape) {
      const { tenant_id: tenant, id } = sample[0]!;
      for (const side of ['rls', 'explicit'] as const) {
        await actAs(side, tenant);
        await superuser.query(shape[side].text, shape[side].values(tenant, id));
      }
    }

    const rows: Record<string, string | number>[] = [];
    const data: Record<string, unknown> = {};
    for (const [shape, prepared] of shapes.flatMap(
      (shape) =>
        [
          [shape, false],
          [shape, true],
        ] as const,
    )) {
      for (let i = 0; i < 50; i++) await warmUp(shape); // connections' caches
      const runs: { explicit: number; rls: number; ratio: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const { explicit, rls } = await measure(shape, prepared);
        runs.push({ explicit, rls, ratio: rls / explicit });
      }
      const { tenant_id: tenant, id } = sample[0]!;
      await actAs('rls', tenant);
      const plan = (await superuser.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${shape.rls.text}`, shape.rls.values(tenant, id))).rows.map(
        (r: { 'QUERY PLAN': string }) => r['QUERY PLAN'],
      );
      const ratios = runs.map((r) => r.ratio);
      const worst = Math.max(...ratios);
      const indexCond = plan.some((line) => /Index Cond: .*tenant_id = .*current_setting/.test(line));
      const filtered = plan.some((line) => /^\s*Filter: /.test(line));
      const query = `${shape.name}, ${prepared ? 'prepared' : 'parsed each time'}`;
      rows.push({
        query,
        'explicit WHERE p50 µs': runs.map((r) => round(r.explicit, 0)).join(', '),
        'RLS p50 µs': runs.map((r) => round(r.rls, 0)).join(', '),
        'RLS / explicit': `${round(Math.min(...ratios), 2)}–${round(worst, 2)}×`,
        target: '≤ 1.1×',
        met: worst <= 1.1 ? 'yes' : 'no',
        'policy as index condition': indexCond ? 'yes' : 'no',
        'rows filtered after the scan': filtered ? 'yes' : 'no',
      });
      data[query] = { runs, plan };
    }

    await writeResults('rls-cost', {
      title: `RLS predicate cost: ${rowCount.toLocaleString('en')} leads of ${tenantCount} tenants, ${queries} queries × ${rounds} rounds per side`,
      rows,
      notes: [
        `bulk load (secondary indexes dropped, one INSERT … SELECT over generate_series, indexes rebuilt, VACUUM ANALYZE): ${round(load.ms / 1000)} s`,
        'RLS: the runtime role (SET ROLE) with app.tenant_id set, both untimed, and no tenant in the SQL; explicit: a superuser (RLS bypassed) with WHERE tenant_id; median latency per query on one connection, loopback, the sides alternating query by query',
        "parsed each time: parsed and planned with every execution, as behind a transaction-mode pooler and on first use; prepared: a named statement per connection with PostgreSQL's default plan choice (one generic plan after five runs), as the router runs a statement kept with one plan (a lead by id); the router's other kept statements skip parsing but are planned every time (planning under RLS costs more than the plain plan: the policy is planned too)",
        'each cell lists one value per round; met = the worst round meets the target',
      ],
      data: { rowCount, tenantCount, queries, rounds, loadMs: load.ms, ...data },
    });
  } finally {
    await superuser.end();
  }
});
