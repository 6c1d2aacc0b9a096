/**
 * Router observers (src/router/router-observer.ts) on every tier, against real PostgreSQL: each
 * statement and Prisma transaction is reported once, to every observer, with its tenant, tier,
 * server, times, rows and whether it ran prepared; pools opened and evicted are reported; pool
 * stats read at any moment; an observer that throws fails nothing; one removed hears nothing more.
 */
import { pino } from 'pino';
import t from 'tap';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import type { PoolClosedEvent, PoolEvent, StatementEvent } from '../../src/router/router-observer.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { provision, startTestPlatform, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const tenants = {
  pooled: await provision(platform, 'pooled', 'seen'),
  schema: await provision(platform, 'schema', 'seen'),
  dedicated: await provision(platform, 'dedicated', 'seen'),
};

// One connection per pool (so a statement's second and third runs meet the same session), and room
// for one pool only: the dedicated tenant's pool evicts the shared one.
const registry = new PoolRegistry(
  { poolMax: 1, dedicatedPoolMax: 1, maxPools: 1, connectionBudget: 1 },
  (id) => platform.servers.byId(id),
  pino({ level: 'silent' }),
);
const router = new TenantRouter({ registry });
t.teardown(() => router.close());

const statements: StatementEvent[] = [];
const alsoSeen: StatementEvent[] = [];
const opened: PoolEvent[] = [];
const evicted: PoolClosedEvent[] = [];
router.observe({ onStatement: (e) => statements.push(e), onPoolOpened: (e) => opened.push(e), onPoolEvicted: (e) => evicted.push(e) });
const stopSecond = router.observe({ onStatement: (e) => alsoSeen.push(e) });
router.observe({
  onStatement: () => {
    throw new Error('a broken observer');
  },
});

for (const tier of tiers) {
  t.test(`${tier}: statements and transactions are reported with their tenant, times, rows and preparation`, async (t) => {
    const tenant = tenants[tier];
    const db = router.clientFor(tenant);
    statements.length = 0;
    alsoSeen.length = 0;
    const read = 'SELECT id FROM leads WHERE name = $1';
    for (let i = 0; i < 3; i++) await db.$rows(read, ['nobody']);
    t.equal(statements.length, 3, 'each statement reported once, though one observer throws');
    t.same(alsoSeen, statements, 'every observer hears the same events');
    for (const e of statements) {
      t.match(e, { tenantId: tenant.id, tier, serverId: tenant.serverId, kind: 'statement', statements: 1, rowsRead: 0, rowsWritten: 0, failed: false });
      t.ok(e.durationMs > 0 && e.waitMs >= 0, `times measured: ${e.durationMs.toFixed(3)} ms on the connection, ${e.waitMs.toFixed(3)} ms waiting`);
    }
    t.same(
      statements.map((e) => [e.contextKept, e.statementKept]),
      [
        // The schema tenant meets the shared connection the pooled one already prepared it on.
        [tier === 'schema', false],
        [true, false],
        [true, true],
      ],
      'the context statement is kept after its first run on the connection; the statement from its third',
    );

    statements.length = 0;
    await db.lead.createMany({ data: [{ name: 'one' }, { name: 'two' }] });
    t.match(statements, [{ kind: 'statement', rowsWritten: 2, rowsRead: 0 }], 'rows written');
    t.equal((await db.$rows(read, ['one'])).length, 1);
    t.match(statements[1], { rowsRead: 1, rowsWritten: 0 }, 'rows read');

    statements.length = 0;
    await db.$transaction(async (tx) => {
      await tx.lead.create({ data: { name: 'three' } });
      await tx.lead.findMany();
    });
    t.match(statements, [{ tenantId: tenant.id, tier, kind: 'transaction', statements: 2, rowsWritten: 1, rowsRead: 3, failed: false }], 'a transaction, once');

    statements.length = 0;
    await t.rejects(db.$rows('SELECT 1/0'));
    t.match(statements, [{ kind: 'statement', failed: true }], 'a failed statement is reported failed');
  });
}

t.test('pools opened and evicted for room are reported; pool stats and the budget read at any moment', async (t) => {
  // The tiers above ran in order: the shared pool opened, then was evicted for the dedicated one.
  const shared = { serverId: tenants.pooled.serverId, database: tenants.pooled.databaseName, shared: true, max: 1 };
  const dedicated = { serverId: tenants.dedicated.serverId, database: tenants.dedicated.databaseName, shared: false, max: 1 };
  t.same(opened, [shared, dedicated]);
  t.same(evicted, [{ ...shared, reason: 'room' }]);

  const [pool] = router.poolStats();
  t.match(pool, { ...dedicated, connections: 1, idle: 1, waiting: 0, queued: 0, draining: false });
  t.ok(pool!.keptStatements >= 1, `kept statements counted on its connection: ${pool!.keptStatements}`);
  t.same(router.budget(), { maxPools: 1, connectionBudget: 1, pools: 1, budgeted: 1, waitingForRoom: 0 });

  const held = router.clientFor(tenants.dedicated).$rows('SELECT pg_sleep(0.3)');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(router.poolStats(), [{ connections: 1, idle: 0 }], 'a connection in use');
  await held;
});

t.test('an observer removed hears nothing more', async (t) => {
  stopSecond();
  alsoSeen.length = 0;
  statements.length = 0;
  await router.clientFor(tenants.dedicated).$rows('SELECT 1');
  t.equal(statements.length, 1);
  t.equal(alsoSeen.length, 0);
});
