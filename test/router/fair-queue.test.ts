/**
 * The shared pool's admission (src/router/fair-queue.ts): the pool's capacity and each tenant's
 * cap hold under any interleaving, freed slots go to waiting tenants in turn, a bounded wait ends
 * in the right refusal, and no slot is kept by a statement that failed, waited out or was refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { FairQueue } from '../../src/router/fair-queue.js';
import { TenantBusyError } from '../../src/router/tenant-guards.js';
import { TenantPoolBusyError } from '../../src/router/tenant-sql.js';

/** Runs `work` holding a slot, as the routing pool does (take, then give back in finally). */
async function withSlot<T>(queue: FairQueue, tenant: string, cap: number | null, work: () => Promise<T>): Promise<T> {
  if (!queue.tryEnter(tenant, cap)) await queue.wait(tenant);
  try {
    return await work();
  } finally {
    queue.leave(tenant);
  }
}

t.test('a freed slot goes to the waiting tenants in turn, not to the first queued', async (t) => {
  const queue = new FairQueue(1, 5_000);
  const order: string[] = [];
  let release!: () => void;
  const holder = withSlot(queue, 'x', null, () => new Promise<void>((r) => (release = r)));
  // Tenant a queues five statements before b queues one: b is served second, not sixth.
  const waiting = [
    ...Array.from({ length: 5 }, (_, i) => withSlot(queue, 'a', null, async () => void order.push(`a${i}`))),
    withSlot(queue, 'b', null, async () => void order.push('b0')),
  ];
  t.same(queue.stats(), { inFlight: 1, waiting: 6, tenants: 3 });
  release();
  await Promise.all([holder, ...waiting]);
  t.same(order, ['a0', 'b0', 'a1', 'a2', 'a3', 'a4']);
  t.same(queue.stats(), { inFlight: 0, waiting: 0, tenants: 0 }, 'nothing kept');
});

t.test('a tenant at its cap waits while a neighbour below its cap goes straight in', async (t) => {
  const queue = new FairQueue(10, 5_000);
  t.ok(queue.tryEnter('noisy', 2));
  t.ok(queue.tryEnter('noisy', 2));
  t.notOk(queue.tryEnter('noisy', 2), 'the third waits');
  const third = queue.wait('noisy');
  t.ok(queue.tryEnter('quiet', 2), 'the neighbour is not held up');
  queue.leave('quiet');
  queue.leave('noisy');
  await third;
  t.same(queue.stats(), { inFlight: 2, waiting: 0, tenants: 1 });
  queue.leave('noisy');
  queue.leave('noisy');
  t.same(queue.stats(), { inFlight: 0, waiting: 0, tenants: 0 });
});

t.test('a wait is bounded: TenantBusyError at the tenant cap, TenantPoolBusyError on a full pool', async (t) => {
  for (const [capacity, waiter, refusal] of [
    [10, 'a', TenantBusyError],
    [1, 'b', TenantPoolBusyError],
  ] as const) {
    const queue = new FairQueue(capacity, 30);
    t.ok(queue.tryEnter('a', 1));
    t.notOk(queue.tryEnter(waiter, 1));
    await t.rejects(queue.wait(waiter), refusal);
    queue.leave('a');
    t.same(queue.stats(), { inFlight: 0, waiting: 0, tenants: 0 });
  }
});

t.test('raising a cap admits the waiting statements at once', async (t) => {
  const queue = new FairQueue(10, 5_000);
  t.ok(queue.tryEnter('a', 1));
  t.notOk(queue.tryEnter('a', 1));
  const waiting = queue.wait('a');
  t.notOk(queue.tryEnter('a', 3), 'behind the one waiting');
  const next = queue.wait('a');
  await Promise.all([waiting, next]);
  t.same(queue.stats(), { inFlight: 3, waiting: 0, tenants: 1 });
  for (let i = 0; i < 3; i++) queue.leave('a');
});

t.test('refuseAll empties the queue and keeps no slot', async (t) => {
  const queue = new FairQueue(1, 5_000);
  t.ok(queue.tryEnter('a', null));
  t.notOk(queue.tryEnter('b', null));
  const refused = queue.wait('b');
  queue.refuseAll(new Error('closed'));
  await t.rejects(refused, { message: 'closed' });
  queue.leave('a');
  t.same(queue.stats(), { inFlight: 0, waiting: 0, tenants: 0 });
});

t.test('many rounds of concurrent statements, failing and waiting out at random: caps hold, nothing leaks', async (t) => {
  const capacity = 4;
  const queue = new FairQueue(capacity, 20);
  const caps: Record<string, number | null> = { a: 1, b: 2, c: 3, d: null };
  const running: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
  let total = 0;
  let served = 0;
  let refused = 0;
  let failed = 0;
  let violations = 0;
  for (let round = 0; round < 20; round++) {
    const statements = Array.from({ length: 60 }, async (_, i) => {
      const tenant = 'abcd'[i % 4]!;
      try {
        await withSlot(queue, tenant, caps[tenant]!, async () => {
          running[tenant]!++;
          total++;
          if (total > capacity || running[tenant]! > (caps[tenant] ?? Infinity)) violations++;
          await sleep(Math.random() * 4);
          running[tenant]!--;
          total--;
          if (Math.random() < 0.2) throw new Error('statement failed');
          served++;
        });
      } catch (err) {
        if (err instanceof TenantBusyError || err instanceof TenantPoolBusyError) refused++;
        else failed++;
      }
    });
    await Promise.all(statements);
    t.same(queue.stats(), { inFlight: 0, waiting: 0, tenants: 0 }, `round ${round}: no slot kept, no tenant remembered`);
  }
  t.equal(violations, 0, 'the pool capacity and every tenant cap held throughout');
  t.ok(served > 0 && failed > 0, `served ${served}, failed ${failed}, refused ${refused}`);
});
