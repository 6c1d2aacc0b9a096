/**
 * Noisy neighbour: a victim tenant reads leads by id (a few callers, back to back) while a pooled
 * neighbour on the same server's shared pool runs heavy queries (a self-join of its leads) from
 * many callers at full speed. Three phases take turns in one-second slices, so load from elsewhere
 * falls on all alike: quiet (the neighbour idle), disturbed by a neighbour whose guards are lifted
 * in its config (statement timeout, concurrency cap and database-time share "unlimited"), and
 * disturbed by a neighbour under its plan's guards. The fair queue between tenants is part of the
 * router in both. A fourth phase is a reference for plain CPU contention: no neighbour in the
 * database, but as many CPU-bound processes outside it as the guarded neighbour may run statements
 * at once.
 * Target: with guards, the victim's p99 ≤ 1.5× its quiet p99.
 * `npm run bench -- noisy-neighbour [--seconds N] [--heavy N] [--cap N] [--share N]` (--cap, --share:
 * the guarded neighbour's maxConcurrentStatements and dbTimeMsPerSecond instead of its plan's)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { planDefinition } from '../../src/plans/plan-limits.js';
import { TenantDbTimeError } from '../../src/router/tenant-guards.js';
import type { TenantClient } from '../../src/router/tenant-router.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { percentile, round, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'noisy-neighbour'),
  options: { seconds: { type: 'string', default: '8' }, heavy: { type: 'string', default: '16' }, cap: { type: 'string' }, share: { type: 'string' } },
});
const slices = Number(values.seconds);
const heavyCallers = Number(values.heavy);
const victimCallers = 4;
/** Each victim caller reads every `victimPaceMs` (a normal tenant's traffic, not a flood). */
const victimPaceMs = 5;
const sliceMs = 1000;
const plan = 'free';
const rows = 20_000;

const heavySql = `SELECT count(*)::int AS n FROM leads a JOIN leads b ON a.name = b.name AND a.id <> b.id`;
const readSql = `SELECT id, name FROM leads WHERE id = $1`;

/** Refused for its share of time, a caller waits as told, as over HTTP (429 with Retry-After, and a rate limit besides). */
const heavyQuery = (neighbour: TenantClient) =>
  neighbour.$rows(heavySql).catch(async (err: unknown) => {
    if (err instanceof TenantDbTimeError) await sleep(err.retryAfterMs);
    throw err;
  });

type Phase = 'quiet' | 'unguarded' | 'guarded' | 'cpuFloor';

/**
 * A process that keeps one core busy while told 'on' (in its own session, so the scheduler
 * weighs it like any other program rather than as part of this one). It ends with this one.
 */
function cpuBurner(): ChildProcess {
  const burn = `let on = false;
process.on('message', (m) => { on = m === 'on'; });
process.on('disconnect', () => process.exit(0));
(function tick() {
  if (!on) return setTimeout(tick, 5);
  const end = performance.now() + 2;
  while (performance.now() < end);
  setImmediate(tick);
})();`;
  return spawn(process.execPath, ['-e', burn], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

/** `callers` loops running `work` until `stop` says so, each call `paceMs` after the last began; latencies, ms. */
async function loop(callers: number, stop: () => boolean, work: () => Promise<unknown>, paceMs = 0) {
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (!stop()) {
        const started = performance.now();
        try {
          await work();
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
        const idle = paceMs - (performance.now() - started);
        if (idle > 0) await sleep(idle);
      }
    }),
  );
  return { latencies, errors };
}

await withBenchPlatform('noisy', { STRATA_POOL_MAX: '10', LOG_LEVEL: 'silent' }, async (platform) => {
  const make = async (slug: string, config: object = {}) => {
    const tenant = await provisionTenant(platform.provisioning, { slug, name: slug, plan, tier: 'pooled', config });
    const db = platform.router.clientFor(tenant);
    await db.lead.createMany({ data: Array.from({ length: rows }, (_, i) => ({ name: `lead ${i % 5000}` })) });
    return db;
  };
  const victim = await make('victim');
  const unguarded = await make('noisy-unguarded', {
    limits: { statementTimeoutMs: 'unlimited', maxConcurrentStatements: 'unlimited', dbTimeMsPerSecond: 'unlimited' },
  });
  const overrides = {
    ...(values.cap && { maxConcurrentStatements: Number(values.cap) }),
    ...(values.share && { dbTimeMsPerSecond: values.share === 'unlimited' ? 'unlimited' : Number(values.share) }),
  };
  const guarded = await make('noisy-guarded', { limits: overrides });
  const guards = planDefinition(plan).limits;
  const cap = values.cap ? Number(values.cap) : (guards.maxConcurrentStatements ?? heavyCallers);
  const share = values.share ? values.share : (guards.dbTimeMsPerSecond ?? 'unlimited');
  const burners = Array.from({ length: cap }, cpuBurner);
  const ids = (await victim.lead.findMany({ select: { id: true }, take: 2000 })).map((r) => r.id);
  const neighbours: Record<Phase, TenantClient | undefined> = { quiet: undefined, unguarded, guarded, cpuFloor: undefined };

  const phases: Phase[] = ['quiet', 'unguarded', 'guarded', 'cpuFloor'];
  const samples = Object.fromEntries(phases.map((phase) => [phase, [] as number[]])) as Record<Phase, number[]>;
  const heavy = Object.fromEntries(phases.map((phase) => [phase, { done: 0, refused: 0 }])) as Record<Phase, { done: number; refused: number }>;
  let n = 0;
  const read = () => victim.$rows(readSql, [ids[n++ % ids.length]], { genericPlan: true });
  // Warm-up: every statement prepared, every connection open.
  await loop(
    victimCallers,
    (
      (end) => () =>
        performance.now() > end
    )(performance.now() + 500),
    read,
    victimPaceMs,
  );

  for (let slice = 0; slice < slices; slice++) {
    // Rotate the order, so no phase always follows another.
    for (const phase of phases.map((_, i) => phases[(i + slice) % phases.length]!)) {
      const end = performance.now() + sliceMs;
      const stop = () => performance.now() > end;
      const neighbour = neighbours[phase];
      if (phase === 'cpuFloor') for (const burner of burners) burner.send('on');
      const [victimRun, heavyRun] = await Promise.all([
        loop(victimCallers, stop, read, victimPaceMs),
        neighbour ? loop(heavyCallers, stop, () => heavyQuery(neighbour)) : Promise.resolve({ latencies: [], errors: 0 }),
      ]);
      if (phase === 'cpuFloor') for (const burner of burners) burner.send('off');
      if (victimRun.errors) throw new Error(`the victim's reads failed ${victimRun.errors} times in the ${phase} phase`);
      samples[phase].push(...victimRun.latencies);
      heavy[phase].done += heavyRun.latencies.length;
      heavy[phase].refused += heavyRun.errors;
    }
  }
  for (const burner of burners) burner.disconnect();

  const stats = (phase: Phase) => ({ p50: percentile(samples[phase], 50), p99: percentile(samples[phase], 99), reads: samples[phase].length });
  const quiet = stats('quiet');
  const results = { quiet, unguarded: stats('unguarded'), guarded: stats('guarded'), cpuFloor: stats('cpuFloor') };
  const ratio = (phase: Exclude<Phase, 'quiet'>) => results[phase].p99 / quiet.p99;
  const ms = (v: number) => round(v, 2);
  const row = (measure: string, phase: Phase, target: string, met: string) => ({
    measure,
    value: phase === 'quiet' ? `${ms(quiet.p99)} ms` : `${round(ratio(phase), 2)}×`,
    target,
    met,
    'victim p50 / p99 ms': `${ms(results[phase].p50)} / ${ms(results[phase].p99)}`,
    'victim reads': results[phase].reads,
    'neighbour heavy queries done / refused': phase === 'quiet' || phase === 'cpuFloor' ? '—' : `${heavy[phase].done} / ${heavy[phase].refused}`,
  });
  await writeResults('noisy-neighbour', {
    title: `Noisy neighbour: ${victimCallers} paced victim readers vs ${heavyCallers} heavy callers of a pooled neighbour, one shared pool of 10, ${slices} rounds of 1 s slices per phase`,
    rows: [
      row('victim quiet (p99)', 'quiet', '—', '—'),
      row('victim p99 disturbed, guards lifted / quiet p99', 'unguarded', '—', '—'),
      row('victim p99 disturbed, with guards / quiet p99', 'guarded', '≤ 1.5×', ratio('guarded') <= 1.5 ? 'yes' : 'no'),
      row(`reference: victim p99 beside ${cap} CPU-bound processes outside the database / quiet p99`, 'cpuFloor', '—', '—'),
    ],
    notes: [
      `victim: reads by id through the router ($rows), each of ${victimCallers} callers one every ${victimPaceMs} ms; neighbour: \`${heavySql}\` over ${rows} leads, back to back`,
      `guards: the ${plan} plan's (statement timeout ${guards.statementTimeoutMs} ms, at most ${cap} concurrent statements${values.cap ? ' by --cap' : ''}, ${share === 'unlimited' ? 'no share of statement time' : `${share} ms of statement time per second`}${values.share ? ' by --share' : ''}); lifted: all "unlimited" in the neighbour's config`,
      `reference: the neighbour idle, ${cap} processes (the guarded neighbour's cap) each keeping a core busy; plain CPU contention, not a bound: a heavy statement also takes caches and memory bandwidth, and on two cores has moved the victim's tail further than these busy loops`,
      'refused: heavy queries answered by a guard (a timeout, its share of time used up, or no turn within STRATA_TENANT_QUEUE_WAIT_MS); the fair queue between tenants is in force in every phase',
    ],
    data: { slices, sliceMs, victimCallers, heavyCallers, cap, share, rows, results, heavy },
  });
});
