/**
 * The tenant's statement timeout rides on the tenant context (no round trip of its own): every
 * statement and transaction of a guarded tenant runs under it, on every tier, and it never
 * outlives the statement on a shared connection, so the next tenant runs under its own.
 */
import { pino } from 'pino';
import t from 'tap';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { statementTimedOut } from '../../src/router/tenant-guards.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

// One connection per pool: a timeout left behind by one tenant's statement would meet the next.
const registry = new PoolRegistry(
  { poolMax: 1, dedicatedPoolMax: 1, maxPools: 10, connectionBudget: 10 },
  (id) => platform.servers.byId(id),
  pino({ level: 'silent' }),
);
const guarded = new Set([...Object.values(pairs)].map((p) => p.a.id));
const router = new TenantRouter({
  registry,
  guardsFor: (tenant) => ({ statementTimeoutMs: guarded.has(tenant.id) ? 150 : null, maxConcurrentStatements: null, dbTimeMsPerSecond: null }),
});
t.teardown(() => router.close());

const timeoutOf = async (db: ReturnType<typeof router.clientFor>) =>
  (await db.$rows<{ timeout: string }>(`SELECT current_setting('statement_timeout') AS timeout`))[0]!.timeout;

for (const tier of tiers) {
  t.test(`${tier}: statements and transactions of a guarded tenant run under its timeout; its neighbour's do not`, async (t) => {
    const { a, b } = pairs[tier];
    const guardedDb = router.clientFor(a);
    const neighbourDb = router.clientFor(b);
    for (let round = 0; round < 3; round++) {
      t.equal(await timeoutOf(guardedDb), '150ms', 'raw statement');
      t.equal(await timeoutOf(neighbourDb), '0', 'the next tenant on the same connection: the database default');
      const [inTx] = await guardedDb.$transaction(async (tx) =>
        tx.$queryRawUnsafe<{ timeout: string }[]>(`SELECT current_setting('statement_timeout') AS timeout`),
      );
      t.equal(inTx!.timeout, '150ms', 'inside a transaction');
    }
    const slow = await guardedDb.$rows('SELECT pg_sleep(1)').catch((err: unknown) => err);
    t.ok(statementTimedOut(slow), `a raw statement is cancelled at the timeout: ${String(slow)}`);
    const slowTx = await guardedDb.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT pg_sleep(1)')).catch((err: unknown) => err);
    t.ok(statementTimedOut(slowTx), `and one in a Prisma transaction, through Prisma's error: ${String(slowTx)}`);
    t.same(await neighbourDb.$rows<{ ok: number }>('SELECT 1 AS ok, pg_sleep(0.3)'), [{ ok: 1, pg_sleep: '' }], 'the neighbour may run longer');
    t.match(router.guardRejections.of(a.id), { statementTimeout: 2 });
    t.match(router.guardRejections.of(b.id), { statementTimeout: 0 });
  });
}
