/**
 * Scale-out on three PostgreSQL servers the benchmark starts (private clusters on loopback ports,
 * src/platform/throwaway-postgres.ts), under a live writer on every tenant:
 * - N tenants provisioned across the tiers (83% pooled, 13% schema, the rest dedicated), placed by
 *   headroom (the installation's own server cordoned);
 * - one server drained (online moves, a bounded number at once): tenants/s, and each moved
 *   tenant's write pause as its writer saw it (first fenced write to the next acknowledged one);
 * - the drained server made active again and the tenants rebalanced by count: the spread
 *   (fewest–most tenants per server) before and after;
 * - one server stopped and started: time until it is marked down and up, and whether the other
 *   servers' tenants were served meanwhile;
 * - every acknowledged write read back at the end (lost: target 0).
 * `npm run bench -- scale-out [--tenants 300] [--concurrency 4] [--pace-ms 3000]`
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { isFencedWrite } from '../../src/moves/change-capture.js';
import type { Platform } from '../../src/platform/platform.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../src/platform/throwaway-postgres.js';
import { applyRebalance } from '../../src/rebalance/apply-rebalance.js';
import { defaultWindowMs, planRebalance } from '../../src/rebalance/rebalance-plan.js';
import { effectiveState, serverLoads } from '../../src/servers/server-capacity.js';
import { drainServer } from '../../src/servers/server-drain.js';
import { registerServer, setServerState } from '../../src/servers/server-registry.js';
import { registryDeps } from '../../src/servers/server-routes.js';
import type { Tier } from '../../src/tenants/placement.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { percentile, round, timed, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'scale-out'),
  options: { tenants: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '4' }, 'pace-ms': { type: 'string', default: '3000' } },
});
const total = Number(values.tenants);
const concurrency = Number(values.concurrency);
const paceMs = Number(values['pace-ms']);
const dedicated = Math.max(3, Math.round(total / 30));
const schema = Math.round(total * 0.13);
const mix: Record<Tier, number> = { pooled: total - schema - dedicated, schema, dedicated };
const names = ['s1', 's2', 's3'] as const;

interface Live {
  tenant: Tenant;
  acknowledged: string[];
  /** Each run of fenced writes, first refusal to the next acknowledged write, ms. */
  pauses: number[];
  /** Refusals other than the move fence, by phase and message. */
  errors: Map<string, number>;
  /** Not written while its server is stopped on purpose. */
  held: boolean;
}

type Phase = 'provisioned' | 'drain' | 'rebalance' | 'outage' | 'after';
let phase: Phase = 'provisioned';

/** Writes one lead every `paceMs` until stopped; a fenced write is retried every 20 ms. */
function writer(platform: Platform, live: Live, stop: () => boolean) {
  return (async () => {
    await sleep(Math.random() * paceMs);
    for (let n = 0; !stop(); n++) {
      const began = performance.now();
      if (!live.held) {
        const name = `w-${n}`;
        let fencedSince: number | undefined;
        for (;;) {
          try {
            const tenant = (await platform.tenants.byId(live.tenant.id))!;
            await platform.router.clientFor(tenant).lead.create({ data: { name }, select: { id: true } });
            live.acknowledged.push(name);
            if (fencedSince !== undefined) live.pauses.push(performance.now() - fencedSince);
            break;
          } catch (err) {
            if (isFencedWrite(err) && !stop()) {
              fencedSince ??= performance.now();
              await sleep(20);
              continue;
            }
            // A held tenant's write was under way when its server stopped.
            const key = `${live.held ? 'stopped server' : phase}: ${(err as Error).message.split('\n').at(-1)!.slice(0, 100)}`;
            live.errors.set(key, (live.errors.get(key) ?? 0) + 1);
            break;
          }
        }
      }
      await sleep(Math.max(0, paceMs - (performance.now() - began)));
    }
  })();
}

/** Fewest and most of the measure per active server. */
const spreadOf = (shares: { server: string; value: number }[]) => ({
  min: Math.min(...shares.map((s) => s.value)),
  max: Math.max(...shares.map((s) => s.value)),
  byServer: Object.fromEntries(shares.map((s) => [s.server, s.value])),
});

async function waitForState(platform: Platform, name: string, wanted: 'down' | 'active', timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const server = await platform.catalog.databaseServer.findUniqueOrThrow({ where: { name } });
    if (effectiveState(server) === wanted) return;
    if (performance.now() > deadline) throw new Error(`${name} not ${wanted} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

const clusters: ThrowawayPostgres[] = [];
try {
  await withBenchPlatform(
    'scaleout',
    {
      STRATA_SPARE_SCHEMAS: '0',
      STRATA_MOVE_GRACE_MS: '1000',
      STRATA_SERVER_PROBE_MS: '500',
      STRATA_SERVER_PROBE_TIMEOUT_MS: '1500',
      STRATA_MAX_POOLS: '100',
      STRATA_CONNECTION_BUDGET: '150',
      LOG_LEVEL: 'silent',
    },
    async (platform) => {
      const deps = registryDeps(platform);
      for (const name of names) {
        const cluster = await startThrowawayPostgres(`bench-${name}`, { maxConnections: 200 });
        clusters.push(cluster);
        process.env[`BENCH_${name.toUpperCase()}_PASSWORD`] = decodeURIComponent(new URL(cluster.url).password);
        await registerServer(deps, null, {
          name,
          host: '127.0.0.1',
          port: cluster.port,
          maxConnections: 150,
          bootstrap: { secretRef: `env:BENCH_${name.toUpperCase()}_PASSWORD` },
        });
      }
      await setServerState(deps, null, 'default', 'cordoned');
      platform.serverHealth.start();

      console.error(`provisioning ${mix.pooled} pooled, ${mix.schema} schema and ${mix.dedicated} dedicated tenants on ${names.length} servers`);
      const limit = pLimit(4);
      const order = (Object.entries(mix) as [Tier, number][]).flatMap(([tier, count]) =>
        Array.from({ length: count }, (_, i) => ({ tier, slug: `${tier}-${String(i).padStart(4, '0')}` })),
      );
      const provisioned = await timed(() =>
        Promise.all(order.map(({ tier, slug }) => limit(() => provisionTenant(platform.provisioning, { slug, name: slug, plan: 'free', tier })))),
      );
      const lives: Live[] = provisioned.value.map((tenant) => ({ tenant, acknowledged: [], pauses: [], errors: new Map(), held: false }));
      const countsBefore = spreadOf(
        (await serverLoads(platform.catalog))
          .filter((l) => l.server.name !== 'default')
          .map((l) => ({ server: l.server.name, value: l.tenants.pooled + l.tenants.schema + l.tenants.dedicated })),
      );

      let writing = true;
      const writers = lives.map((live) => writer(platform, live, () => !writing));
      await sleep(2000);

      const serverIds = Object.fromEntries((await platform.catalog.databaseServer.findMany()).map((s) => [s.name, s.id]));
      const drained = new Set(lives.filter((l) => l.tenant.serverId === serverIds.s1).map((l) => l.tenant.id));
      console.error(`draining s1 (${drained.size} tenants), ${concurrency} at once`);
      phase = 'drain';
      const drain = await drainServer(platform, 's1', { concurrency, actor: null });
      if (drain.failed.length || drain.remaining)
        throw new Error(`drain: ${drain.failed.length} failed, ${drain.remaining} left: ${JSON.stringify(drain.failed[0])}`);
      // A writer at its pace often misses a fence of a few hundred ms: only those that met one count.
      const pauses = lives.filter((l) => drained.has(l.tenant.id) && l.pauses.length).map((l) => Math.max(...l.pauses));
      const fences = drain.outcomes.filter((o) => o.status === 'succeeded' && o.fenceMs !== undefined).map((o) => o.fenceMs!);

      await setServerState(deps, null, 's1', 'active');
      const plan = await planRebalance(platform, { by: 'tenants', maxMoves: total, tolerance: 0.05, windowMs: defaultWindowMs });
      console.error(`rebalancing: ${plan.moves.length} moves`);
      phase = 'rebalance';
      const rebalance = await timed(() => applyRebalance(platform, plan, { concurrency, actor: null, windowMs: defaultWindowMs }));
      if (rebalance.value.failed.length) throw new Error(`rebalance: ${JSON.stringify(rebalance.value.failed[0])}`);
      const afterRebalance = await planRebalance(platform, { by: 'tenants', maxMoves: 0, tolerance: 0.05, windowMs: defaultWindowMs });
      await platform.load.flush();
      const dbTime = await planRebalance(platform, { by: 'dbTime', maxMoves: total, tolerance: 0.1, windowMs: defaultWindowMs });

      console.error('stopping s2');
      const placed = new Map((await platform.catalog.tenant.findMany({ select: { id: true, serverId: true } })).map((t) => [t.id, t.serverId]));
      for (const live of lives) live.held = placed.get(live.tenant.id) === serverIds.s2;
      const acknowledgedBefore = lives.filter((l) => !l.held).reduce((n, l) => n + l.acknowledged.length, 0);
      phase = 'outage';
      const stoppedAt = performance.now();
      await clusters[1]!.stop();
      await waitForState(platform, 's2', 'down', 30_000);
      const downMs = performance.now() - stoppedAt;
      await sleep(2000);
      const startedAt = performance.now();
      await clusters[1]!.start();
      await waitForState(platform, 's2', 'active', 30_000);
      const upMs = performance.now() - startedAt;
      const servedDuringOutage = lives.filter((l) => !l.held).reduce((n, l) => n + l.acknowledged.length, 0) - acknowledgedBefore;
      for (const live of lives) live.held = false;
      phase = 'after';
      await sleep(2000);

      writing = false;
      await Promise.all(writers);
      let lost = 0;
      let acknowledged = 0;
      for (const live of lives) {
        const tenant = (await platform.tenants.byId(live.tenant.id))!;
        const stored = new Set((await platform.router.clientFor(tenant).lead.findMany({ select: { name: true } })).map((l) => l.name));
        acknowledged += live.acknowledged.length;
        lost += live.acknowledged.filter((name) => !stored.has(name)).length;
      }
      const errors = new Map<string, number>();
      for (const live of lives) for (const [key, n] of live.errors) errors.set(key, (errors.get(key) ?? 0) + n);
      const refusedIn = (...phases: string[]) =>
        [...errors].filter(([key]) => phases.some((p) => key.startsWith(`${p}:`))).reduce((n, [, count]) => n + count, 0);
      const errorsDuringOutage = refusedIn('outage');

      const ms = (v: number) => round(v, 0);
      const tenantsPerSecond = drain.moved / (drain.ms / 1000);
      const before = spreadOf(plan.before);
      const after = spreadOf(afterRebalance.before);
      const dbBefore = spreadOf(dbTime.before);
      const dbAfter = spreadOf(dbTime.after);
      await writeResults('scale-out', {
        title: `Scale-out: ${total} tenants (${mix.pooled} pooled, ${mix.schema} schema, ${mix.dedicated} dedicated) on 3 PostgreSQL servers, a write per tenant every ${paceMs} ms, moves ${concurrency} at once`,
        rows: [
          {
            measure: `provisioning ${total} tenants (4 at once)`,
            value: `${round(total / (provisioned.ms / 1000), 1)} tenants/s`,
            target: '—',
            met: '',
            detail: `${ms(provisioned.ms)} ms; placed by headroom: ${JSON.stringify(countsBefore.byServer)}`,
          },
          {
            measure: `drain s1: ${drain.moved} tenants moved`,
            value: `${round(tenantsPerSecond, 2)} tenants/s`,
            target: '—',
            met: '',
            detail: `${ms(drain.ms)} ms, source cleanups included`,
          },
          {
            measure: 'write pause per moved tenant, fence to switch (p50 / p99 / max)',
            value: `${ms(percentile(fences, 50))} / ${ms(percentile(fences, 99))} / ${ms(Math.max(...fences))} ms`,
            target: 'p99 ≤ 1000 ms',
            met: percentile(fences, 99) <= 1000 ? 'yes' : 'no',
            detail: `as the writers saw it (first fenced write to the next acknowledged one), ${pauses.length} of ${drained.size} that met the fence: p50 ${ms(percentile(pauses, 50))}, p99 ${ms(percentile(pauses, 99))}, max ${ms(Math.max(0, ...pauses))} ms`,
          },
          {
            measure: 'lost acknowledged writes',
            value: lost,
            target: '0',
            met: lost === 0 ? 'yes' : 'no',
            detail: `${acknowledged} writes acknowledged in all`,
          },
          {
            measure: 'writes refused other than by the move fence, during drain and rebalance',
            value: refusedIn('drain', 'rebalance'),
            target: '0',
            met: refusedIn('drain', 'rebalance') === 0 ? 'yes' : 'no',
            detail: JSON.stringify(Object.fromEntries(errors)),
          },
          {
            measure: `rebalance by tenants after the drain: ${plan.moves.length} moves`,
            value: `${before.min}–${before.max} → ${after.min}–${after.max} tenants per server`,
            target: '—',
            met: '',
            detail: `${ms(rebalance.ms)} ms (${round(plan.moves.length / (rebalance.ms / 1000), 2)} tenants/s); ${JSON.stringify(before.byServer)} → ${JSON.stringify(after.byServer)}`,
          },
          {
            measure: `dbTime over the run, plan only: ${dbTime.moves.length} moves`,
            value: `${ms(dbBefore.min)}–${ms(dbBefore.max)} → ${ms(dbAfter.min)}–${ms(dbAfter.max)} ms per server`,
            target: '—',
            met: '',
            detail: `spread ${round(dbTime.spreadBefore * 100)}% → ${round(dbTime.spreadAfter * 100)}% of the share (stopped: ${dbTime.stopped})`,
          },
          {
            measure: 's2 stopped: marked down / marked up after its start',
            value: `${ms(downMs)} / ${ms(upMs)} ms`,
            target: '—',
            met: '',
            detail: `the other servers' tenants: ${servedDuringOutage} writes acknowledged meanwhile, ${errorsDuringOutage} refused`,
          },
        ],
        notes: [
          "pauses: the mover's fence-to-switch time of each drained tenant; the writers' view is each tenant's longest run of fenced writes (retried every 20 ms), first refusal to the next acknowledged write",
          "the catalog and the installation's own (cordoned) server are on DATABASE_URL's PostgreSQL; the three servers are private clusters on this machine, sharing its cores with the bench",
          'refusals: writes answered by anything but the move fence (a held tenant of the stopped server is not written)',
        ],
        data: {
          mix,
          paceMs,
          concurrency,
          provisionMs: provisioned.ms,
          drain: { moved: drain.moved, ms: drain.ms, pauses, fences },
          rebalance: { moves: plan.moves.length, ms: rebalance.ms, before: plan.before, after: afterRebalance.before },
          dbTime: { before: dbTime.before, after: dbTime.after, moves: dbTime.moves.length },
          outage: { downMs, upMs, servedDuringOutage, errorsDuringOutage },
          lost,
          acknowledged,
          errors: Object.fromEntries(errors),
        },
      });
    },
  );
} finally {
  for (const cluster of clusters) await cluster.remove();
}
