/**
 * The Redis counter store sends the takes of one event-loop turn as one script run. It must answer
 * each take exactly as if the takes had run one by one: the in-process store, which does, is the
 * reference for the same arrival order.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import t from 'tap';
import { counterStore } from '../../src/http/counter-store.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';

const log = pino({ level: 'silent' });
const windowMs = 60_000;

t.test('takes arriving together are answered as if taken one by one', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  const prefix = `strata:test:counters:${randomUUID()}:`;
  const redis = new Redis(process.env.REDIS_URL!);
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  const shared = await counterStore(process.env.REDIS_URL, prefix, log);
  const reference = await counterStore(undefined, prefix, log);
  t.teardown(() => shared.close());

  // Tenants with small budgets and users with smaller shares of them, so most rounds refuse some.
  const tenants = ['t1', 't2', 't3'];
  let seed = 7;
  const random = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
  for (let round = 1; round <= 30; round++) {
    const takes = Array.from({ length: 1 + random(40) }, () => {
      const tenant = tenants[random(tenants.length)]!;
      const user = `user:${tenant}:${random(4)}`;
      return random(5) === 0 ? { keys: [`ip:${random(3)}`], maxes: [6] } : { keys: [`tenant:${tenant}`, user], maxes: [9, 4] };
    });
    const together = await Promise.all(takes.map((take) => shared.take(take.keys, take.maxes, windowMs)));
    const oneByOne = [];
    for (const take of takes) oneByOne.push(await reference.take(take.keys, take.maxes, windowMs));
    t.same(
      together.map((counts) => counts?.map((c) => c.count)),
      oneByOne.map((counts) => counts?.map((c) => c.count)),
      `round ${round}: ${takes.length} simultaneous takes counted as one by one`,
    );
    t.ok(
      together.every((counts) => counts?.every((c) => c.resetMs > 0 && c.resetMs <= windowMs)),
      'each count carries the time left in its window',
    );
  }
  const stored = await redis.get(`${prefix}tenant:t1`);
  const expected = (await reference.add(['tenant:t1'], windowMs, 0))![0]!.count;
  t.equal(Number(stored), expected, 'what Redis holds is what the takes left after giving back refused ones');
  t.ok((await redis.pttl(`${prefix}tenant:t1`)) > 0, 'the window expires');
});

t.test('a batch over an unreachable Redis answers each take undefined (served uncounted)', async (t) => {
  const stranded = await counterStore('redis://127.0.0.1:1', 'strata:test:stranded:', log);
  t.teardown(() => stranded.close());
  const answers = await Promise.all(Array.from({ length: 5 }, () => stranded.take(['tenant:x'], [1], windowMs)));
  t.same(answers, [undefined, undefined, undefined, undefined, undefined]);
});
