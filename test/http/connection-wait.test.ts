// Regression: under pool pressure a tenant transaction gave up after Prisma's default 2 s maxWait
// and its request was answered 500 (P2028, found by test/adversarial/pool-leak-soak.test.ts), while
// single statements queued for a connection without limit. Now both wait STRATA_CONNECTION_WAIT_MS,
// and if that passes the answer is a 503 with Retry-After.
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import t from 'tap';
import { installErrorHandling } from '../../src/http/error-handler.js';
import { problem } from '../crm/resource-client.js';
import { provision, startTestPlatform } from '../helper.js';

const waitMs = 400;
const platform = await startTestPlatform(t, { STRATA_POOL_MAX: '1', STRATA_CONNECTION_WAIT_MS: String(waitMs) });
const tenant = await provision(platform, 'pooled', 'busy');
const db = platform.router.clientFor(tenant);
await db.lead.create({ data: { name: 'warm' } }); // opens the tenants database's pool
const [pool] = platform.router.openPools();

// A route doing nothing but a tenant transaction, behind the API's own error handling.
const app = Fastify();
installErrorHandling(app);
app.get('/count', async () => db.$transaction(async (tx) => ({ leads: await tx.lead.count() })));
app.get('/count-statement', async () => ({ leads: await db.lead.count() }));
app.get('/count-rows', async () => ({ leads: (await db.$rows<{ n: number }>('SELECT count(*)::int AS n FROM leads'))[0]!.n }));
t.teardown(() => app.close());

t.test('a transaction waits for a busy pool up to the configured time, then fails; the late connection is not lost', async (t) => {
  const held = await pool!.connect(); // the pool's only connection
  const started = performance.now();
  const err = await db.$transaction(async (tx) => tx.lead.count()).catch((e: unknown) => e as { code?: string });
  const waited = performance.now() - started;
  t.equal((err as { code?: string }).code, 'P2028', 'Prisma gives up with P2028');
  t.ok(waited >= waitMs * 0.9 && waited < waitMs + 5_000, `it waited ${Math.round(waited)} ms (configured ${waitMs})`);
  held.release();

  t.equal(await db.$transaction(async (tx) => tx.lead.count()), 1, 'transactions run again once a connection is free');
  const deadline = Date.now() + 5_000;
  while (pool!.idleCount !== pool!.totalCount && Date.now() < deadline) await sleep(20);
  t.same({ idle: pool!.idleCount, total: pool!.totalCount }, { idle: 1, total: 1 }, 'the only connection is back in the pool');
});

t.test('a request whose transaction gets no connection in time answers 503 with Retry-After, not 500', async (t) => {
  const held = await pool!.connect();
  const res = await app.inject('/count');
  held.release();
  problem(t, res, 503, 'STRATA_SERVICE_UNAVAILABLE');
  t.equal(res.headers['retry-after'], '1');
  t.same((await app.inject('/count')).json(), { leads: 1 }, 'served once the pool has a connection');
});

for (const [path, form] of [
  ['/count-statement', 'a Prisma statement'],
  ['/count-rows', 'a raw statement'],
] as const) {
  t.test(`${form} waits for a busy pool up to the configured time, then its request answers 503`, async (t) => {
    const held = await pool!.connect();
    const started = performance.now();
    const res = await app.inject(path);
    const waited = performance.now() - started;
    held.release();
    problem(t, res, 503, 'STRATA_SERVICE_UNAVAILABLE');
    t.match(res.json().detail, /busy/);
    t.equal(res.headers['retry-after'], '1');
    t.ok(waited >= waitMs * 0.9 && waited < waitMs + 5_000, `it waited ${Math.round(waited)} ms (configured ${waitMs})`);
    t.same((await app.inject(path)).json(), { leads: 1 }, 'served once the pool has a connection');
  });
}
