/**
 * Tier move benchmark (issue #5): a pooled tenant with N rows across its tables moves to a
 * dedicated database while a steady write load runs against it. Measured in the same run:
 *   - the move's bulk-copy throughput (rows/s) against a plain `COPY … TO STDOUT | COPY … FROM
 *     STDIN` of the same rows (superuser, into same-shaped tables with their indexes, no RLS);
 *   - total move time (request to switched, and to done with the source cleaned up);
 *   - the write-fence window: fence to switch, and max / p99 latency of the writes during the move
 *     (a write refused by the fence is retried after 20 ms; its latency includes the wait).
 * Targets: copy ≥ 50 % of plain COPY; fence ≤ 1 s.
 * `npm run bench -- tenant-move [--rows N | --full]` (default 150,000 rows; --full: 1,000,000).
 */
import { parseArgs } from 'node:util';
import pg, { escapeIdentifier } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { isFencedWrite } from '../../src/moves/change-capture.js';
import { readProgress, requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import type { Platform } from '../../src/platform/platform.js';
import { tenantTables } from '../../src/transfer/tenant-tables.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { seedTenantRows, seededCounts } from '../../test/support/tenant-rows.js';
import { percentile, round, timed, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'tenant-move'),
  options: { rows: { type: 'string', default: '150000' }, full: { type: 'boolean', default: false }, 'writes-per-second': { type: 'string', default: '100' } },
});
const wantedRows = values.full ? 1_000_000 : Number(values.rows);
/** seedTenantRows writes ~1.52 rows across the tables per lead. */
const rowsPerLead = Object.values(seededCounts(100_000)).reduce((a, b) => a + b, 0) / 100_000;
const leads = Math.round(wantedRows / rowsPerLead);
const totalRows = Object.values(seededCounts(leads)).reduce((a, b) => a + b, 0);
const writeInterval = 1000 / Number(values['writes-per-second']);

/** The same rows, plain COPY out of the pooled tables into same-shaped tables of a scratch schema. */
async function plainCopy(platform: Platform, tenantId: string, database: string) {
  const url = new URL(platform.adminUrl);
  url.pathname = `/${database}`;
  const [source, target] = [new pg.Client({ connectionString: url.toString() }), new pg.Client({ connectionString: url.toString() })];
  await Promise.all([source.connect(), target.connect()]);
  try {
    const tables = await tenantTables(source, 'public');
    await target.query('DROP SCHEMA IF EXISTS bench_plain_copy CASCADE; CREATE SCHEMA bench_plain_copy');
    for (const t of tables)
      await target.query(`CREATE TABLE bench_plain_copy.${escapeIdentifier(t.name)} (LIKE public.${escapeIdentifier(t.name)} INCLUDING ALL)`);
    const { ms } = await timed(async () => {
      for (const t of tables) {
        const out = source.query(copyTo(`COPY (SELECT * FROM public.${escapeIdentifier(t.name)} WHERE tenant_id = '${tenantId}') TO STDOUT`));
        await pipeline(out, target.query(copyFrom(`COPY bench_plain_copy.${escapeIdentifier(t.name)} FROM STDIN`)));
      }
    });
    const { rows } = await target.query<{ n: string }>(
      tables.map((t) => `SELECT count(*) AS n FROM bench_plain_copy.${escapeIdentifier(t.name)}`).join(' UNION ALL '),
    );
    await target.query('DROP SCHEMA bench_plain_copy CASCADE');
    return { ms, rows: rows.reduce((n, r) => n + Number(r.n), 0) };
  } finally {
    await Promise.all([source.end(), target.end()]);
  }
}

/** One write every `writeInterval` ms (creates and renames), each retried while fenced. */
function writeLoad(platform: Platform, tenantId: string) {
  const samples: { at: number; ms: number }[] = [];
  let fenced = 0;
  let running = true;
  const ids: string[] = [];
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const started = performance.now();
      for (;;) {
        try {
          const db = platform.router.clientFor((await platform.tenants.byId(tenantId))!);
          if (n % 2 === 1 && ids.length) await db.lead.updateMany({ where: { id: ids[n % ids.length] }, data: { name: `renamed ${n}` } });
          else ids.push((await db.lead.create({ data: { name: `load ${n}` }, select: { id: true } })).id);
          break;
        } catch (err) {
          if (!isFencedWrite(err)) throw err;
          fenced++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const ms = performance.now() - started;
      samples.push({ at: started, ms });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, writeInterval - ms)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, fenced };
    },
  };
}

await withBenchPlatform('tenant_move', { STRATA_SPARE_SCHEMAS: '0' }, async (platform) => {
  const tenant = await provisionTenant(platform.provisioning, { slug: 'bench-move', name: 'Bench move', plan: 'free', tier: 'pooled' });
  console.error(`seeding ${totalRows} rows (${leads} leads)…`);
  await seedTenantRows(platform, tenant, leads);
  await platform.provisioning.owners.with(platform.defaultServer, tenant.databaseName, (c) => c.query('ANALYZE'));

  const plain = await plainCopy(platform, tenant.id, tenant.databaseName);
  console.error(`plain COPY: ${plain.rows} rows in ${round(plain.ms)} ms`);

  const load = writeLoad(platform, tenant.id);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const started = performance.now();
  const phaseStarts: Record<string, number> = {};
  const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'dedicated', requestedBy: null });
  const finished = await runMove(platform, job.id, {
    graceMs: 0,
    onPhase: (phase) => {
      phaseStarts[phase] = performance.now();
    },
  });
  const switchedAt = phaseStarts.invalidate!;
  const phaseMs = (from: string, to: string) => Math.round(phaseStarts[to]! - phaseStarts[from]!);
  const doneAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { samples, fenced } = await load.stop();
  if (finished.status !== 'succeeded') throw new Error(`the move ${finished.status}: ${finished.error}`);

  const progress = readProgress(finished);
  const copied = Object.values(progress.tables ?? {}).reduce((n, t) => n + t.copied, 0);
  const moveRate = copied / ((progress.copyMs ?? 1) / 1000);
  const plainRate = plain.rows / (plain.ms / 1000);
  const during = samples.filter((s) => s.at >= started && s.at <= doneAt).map((s) => s.ms);
  const outside = samples.filter((s) => s.at < started).map((s) => s.ms);
  const maxWrite = Math.max(...during);
  const rows = [
    { measure: 'rows moved (all tables)', value: copied, target: '—', met: '' },
    { measure: 'plain COPY pipe, rows/s', value: Math.round(plainRate), target: '—', met: '' },
    { measure: 'move bulk copy, rows/s', value: Math.round(moveRate), target: '—', met: '' },
    { measure: 'move copy / plain COPY', value: `${round((moveRate / plainRate) * 100)} %`, target: '≥ 50 %', met: moveRate / plainRate >= 0.5 ? 'yes' : 'no' },
    { measure: 'move time to switch, ms', value: Math.round(switchedAt - started), target: '—', met: '' },
    { measure: 'move time incl. cleanup, ms', value: Math.round(doneAt - started), target: '—', met: '' },
    {
      measure: 'write fence (fence → switch), ms',
      value: progress.fenceMs ?? 'n/a',
      target: '≤ 1000',
      met: (progress.fenceMs ?? Infinity) <= 1000 ? 'yes' : 'no',
    },
    {
      measure: 'fence: barrier / final pass + checks / flip, ms',
      value: `${phaseMs('fence', 'final')} / ${phaseMs('final', 'flip')} / ${phaseMs('flip', 'invalidate')}`,
      target: '—',
      met: '',
    },
    {
      measure: 'phases: prepare+capture / copy / catch-up / verify, ms',
      value: `${phaseMs('prepare', 'copy')} / ${phaseMs('copy', 'catchup')} / ${phaseMs('catchup', 'verify')} / ${phaseMs('verify', 'fence')}`,
      target: '—',
      met: '',
    },
    { measure: 'writes during the move / refused by the fence', value: `${during.length} / ${fenced}`, target: '—', met: '' },
    {
      measure: 'write latency during the move: p50 / p99 / max, ms',
      value: `${round(percentile(during, 50))} / ${round(percentile(during, 99))} / ${round(maxWrite)}`,
      target: '—',
      met: '',
    },
    {
      measure: 'write latency before the move: p50 / p99, ms',
      value: `${round(percentile(outside, 50))} / ${round(percentile(outside, 99))}`,
      target: '—',
      met: '',
    },
    { measure: 'catch-up passes (keys caught up)', value: `${progress.catchUpPasses} (${progress.caughtUpKeys})`, target: '—', met: '' },
  ];
  await writeResults('tenant-move', {
    title: `Tier move: pooled → dedicated, ${totalRows.toLocaleString('en')} rows, ${values['writes-per-second']} writes/s`,
    rows,
    notes: [
      'Plain COPY: superuser, `COPY (SELECT … WHERE tenant_id = …) TO STDOUT` piped into `COPY … FROM STDIN` of same-shaped tables (indexes included, no foreign keys, no RLS), same server, same run.',
      'The move copies as the owner role under the tenant’s RLS context, from one REPEATABLE READ snapshot, into a dedicated target loaded with direct COPY (FORCE RLS lifted and foreign keys re-added in the copy’s transaction, src/moves/catch-up.ts).',
      'The fence is timed from the fenced barrier to the catalog switch; writes refused meanwhile retry after 20 ms. Figures on a shared, heavily loaded 2-core machine vary from run to run.',
      `Command: npm run bench -- tenant-move ${values.full ? '--full' : `--rows ${wantedRows}`}`,
    ],
    data: { totalRows, plain, progress, samples: during.length, fenced, maxWrite },
  });
});
