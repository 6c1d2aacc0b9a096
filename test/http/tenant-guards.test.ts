/**
 * Noisy-neighbour guards through the front door, on every tier: a platform admin sets a tenant's
 * statement timeout, concurrency cap and database-time share in its config (JSON Merge Patch), and
 * the tenant's users get 503 or 429 problems with their own codes when a request runs into them,
 * while a neighbour on the same server is served. Slow requests are real ones: a lead update waiting
 * on a row lock that a runtime connection holds, as a long transaction of the tenant's own would.
 */
import type pg from 'pg';
import t, { type Test } from 'tap';
import { runtimeConnection, startTestPlatform, testApp, tiers, type Tier } from '../helper.js';
import { testSecrets } from '../support/test-secrets.js';
import { liveApi } from '../support/live-api.js';

t.setTimeout(300_000);
const queueWaitMs = 300;
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_TENANT_QUEUE_WAIT_MS: String(queueWaitMs) });
const api = await liveApi(t, await testApp(t, platform));
const admin = (await api('POST', '/admin/auth/login', { body: { email: 'admin@strata.local', password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken as string;

interface Member {
  id: string;
  token: string;
  leadId: string;
}

/** A tenant made by the admin API, its owner logged in, one lead. */
async function member(slug: string, tier: Tier): Promise<Member> {
  const created = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'free', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`create ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
  const login = await api('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.body.owner.password } });
  const token = login.body.accessToken as string;
  const lead = await api('POST', '/leads', { token, body: { name: 'Ada' } });
  return { id: created.body.tenant.id, token, leadId: lead.body.id };
}

const configure = async (tenant: Member, limits: Record<string, unknown>) => {
  const res = await api('PATCH', `/admin/tenants/${tenant.id}`, { token: admin, body: { config: { limits } } });
  if (res.status !== 200) throw new Error(`patch: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

/** Holds a row lock on the tenant's lead from a runtime connection, as a long transaction would. */
async function lockLead(t: Test, tenant: Member): Promise<{ lock: pg.Client; watcher: pg.Client }> {
  const row = (await platform.tenants.byId(tenant.id))!;
  const client = await runtimeConnection(t, platform, row);
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)`, [row.id, `"${row.schemaName}"`]);
  await client.query('SELECT 1 FROM leads WHERE id = $1 FOR UPDATE', [tenant.leadId]);
  // Activity is read outside the locking transaction, which would see one snapshot of it.
  return { lock: client, watcher: await runtimeConnection(t, platform, row) };
}

/** Resolves once a statement of the watcher's database waits for a lock. */
async function someoneWaits(client: pg.Client) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no statement waits for the lock');
}

/**
 * Five reads (one statement each) and a write (a Prisma transaction) of the tenant, at once with six
 * reads of its neighbour, which must all be served; the tenant's answers.
 */
async function burstBeside(t: Test, tenant: Member, neighbour: Member, round: number) {
  const [mine, theirs] = await Promise.all([
    Promise.all([
      ...Array.from({ length: 5 }, () => api('GET', '/leads', { token: tenant.token })),
      api('POST', '/leads', { token: tenant.token, body: { name: `Extra ${round}` } }),
    ]),
    Promise.all(Array.from({ length: 6 }, () => api('GET', '/leads', { token: neighbour.token }))),
  ]);
  t.same(
    theirs.map((r) => r.status),
    Array(6).fill(200),
    `round ${round}: the neighbour on the same server is served`,
  );
  return mine;
}

t.test('plans carry the guards, and the admin API validates them', async (t) => {
  const plans = (await api('GET', '/admin/plans', { token: admin })).body.items as { name: string; limits: Record<string, unknown> }[];
  t.match(plans.find((p) => p.name === 'free')?.limits, { statementTimeoutMs: 5000, maxConcurrentStatements: 3, dbTimeMsPerSecond: null });
  t.match(plans.find((p) => p.name === 'enterprise')?.limits, { statementTimeoutMs: 60000, maxConcurrentStatements: null, dbTimeMsPerSecond: null });
  const tenant = await member('guards-valid', 'pooled');
  for (const [limits, field] of [
    [{ statementTimeoutMs: 0 }, 'body.config.limits.statementTimeoutMs'],
    [{ statementTimeoutMs: 2 ** 31 }, 'body.config.limits.statementTimeoutMs'],
    [{ maxConcurrentStatements: 'lots' }, 'body.config.limits.maxConcurrentStatements'],
    [{ maxConcurrentStatements: 1.5 }, 'body.config.limits.maxConcurrentStatements'],
    [{ dbTimeMsPerSecond: 0 }, 'body.config.limits.dbTimeMsPerSecond'],
    [{ dbTimeMsPerSecond: 'fast' }, 'body.config.limits.dbTimeMsPerSecond'],
    [{ dbTimeMsPerSecond: 2.5 }, 'body.config.limits.dbTimeMsPerSecond'],
    [{ dbTimeMsPerSecond: 10 ** 7 }, 'body.config.limits.dbTimeMsPerSecond'],
  ] as const) {
    const res = await api('PATCH', `/admin/tenants/${tenant.id}`, { token: admin, body: { config: { limits } } });
    t.equal(res.status, 400, JSON.stringify(limits));
    t.ok(
      res.body.errors.some((e: { field: string }) => e.field === field),
      `${field}: ${JSON.stringify(res.body.errors)}`,
    );
  }
  await configure(tenant, { statementTimeoutMs: 'unlimited', maxConcurrentStatements: 7, dbTimeMsPerSecond: 'unlimited' });
  const shown = (await api('GET', `/admin/tenants/${tenant.id}`, { token: admin })).body;
  t.match(shown.settings.limits, { statementTimeoutMs: null, maxConcurrentStatements: 7, dbTimeMsPerSecond: null });
  const settings = (await api('GET', '/settings', { token: tenant.token })).body;
  t.match(settings.limits, { statementTimeoutMs: null, maxConcurrentStatements: 7, dbTimeMsPerSecond: null }, 'the tenant reads its own guards');
  await configure(tenant, { dbTimeMsPerSecond: 40 });
  t.match((await api('GET', '/settings', { token: tenant.token })).body.limits, { dbTimeMsPerSecond: 40 });
});

for (const tier of tiers) {
  t.test(`${tier}: a statement over the tenant's timeout is a 503 STRATA_TENANT_STATEMENT_TIMEOUT; the neighbour is served`, async (t) => {
    const slow = await member(`slow-${tier}`, tier);
    const neighbour = await member(`calm-${tier}`, tier);
    // Its share of database time lifted: this test is about the timeout alone.
    await configure(slow, { statementTimeoutMs: 200, dbTimeMsPerSecond: 'unlimited' });
    const { lock } = await lockLead(t, slow);
    const started = performance.now();
    const res = await api('PATCH', `/leads/${slow.leadId}`, { token: slow.token, body: { name: 'Grace' } });
    const tookMs = performance.now() - started;
    t.equal(res.status, 503, JSON.stringify(res.body));
    t.match(res.body, { code: 'STRATA_TENANT_STATEMENT_TIMEOUT', statementTimeoutMs: 200 });
    t.ok(tookMs < 3_000, `answered when the timeout struck (${Math.round(tookMs)} ms), not when the lock went`);
    t.equal(
      (await api('PATCH', `/leads/${neighbour.leadId}`, { token: neighbour.token, body: { name: 'Grace' } })).status,
      200,
      'the neighbour writes meanwhile',
    );
    await lock.query('ROLLBACK');
    t.equal((await api('PATCH', `/leads/${slow.leadId}`, { token: slow.token, body: { name: 'Grace' } })).status, 200, 'served once the lock is gone');
    t.equal(platform.router.guardRejections.of(slow.id).statementTimeout, 1, 'counted for the tenant');
    t.equal(platform.router.guardRejections.of(neighbour.id).statementTimeout, 0);

    // Lifted by the admin: the same wait is not cut short.
    await configure(slow, { statementTimeoutMs: 'unlimited' });
    const again = await lockLead(t, slow);
    const waiting = api('PATCH', `/leads/${slow.leadId}`, { token: slow.token, body: { name: 'Hopper' } });
    await someoneWaits(again.watcher);
    await new Promise((r) => setTimeout(r, 400));
    await again.lock.query('COMMIT');
    t.equal((await waiting).status, 200, 'a wait longer than the old timeout ends in success');
  });

  t.test(`${tier}: a tenant at its cap of concurrent statements gets 503 STRATA_TENANT_BUSY with Retry-After; the neighbour is served`, async (t) => {
    const busy = await member(`busy-${tier}`, tier);
    const neighbour = await member(`free-${tier}`, tier);
    await configure(busy, { maxConcurrentStatements: 1, statementTimeoutMs: 20_000, dbTimeMsPerSecond: 'unlimited' });
    for (let round = 0; round < 3; round++) {
      const { lock, watcher } = await lockLead(t, busy);
      // Its one statement slot is held by an update waiting on the lock.
      const held = api('PATCH', `/leads/${busy.leadId}`, { token: busy.token, body: { name: `round ${round}` } });
      await someoneWaits(watcher);
      const mine = await burstBeside(t, busy, neighbour, round);
      if (tier === 'dedicated') {
        // A dedicated tenant has a pool of its own: nobody to protect, no cap.
        t.same(
          mine.map((r) => r.status),
          [...Array(5).fill(200), 201],
          `round ${round}: a dedicated tenant is not capped`,
        );
      } else {
        t.same(
          mine.map((r) => r.status),
          Array(6).fill(503),
          `round ${round}: every excess request waits ${queueWaitMs} ms, then 503`,
        );
        t.same(new Set(mine.map((r) => r.body.code)), new Set(['STRATA_TENANT_BUSY']));
        t.same(new Set(mine.map((r) => r.headers.get('retry-after'))), new Set(['1']));
      }
      await lock.query('COMMIT');
      t.equal((await held).status, 200, 'the held request completes');
      t.equal((await api('GET', '/leads', { token: busy.token })).status, 200, 'and the tenant is served again: no slot kept');
    }
    t.equal(platform.router.guardRejections.of(busy.id).concurrency, tier === 'dedicated' ? 0 : 18);
    t.equal(platform.router.guardRejections.of(neighbour.id).concurrency, 0);
    t.match(platform.router.stats(), { inFlight: 0, queued: 0 }, 'no slot held or queued once all is answered');
  });

  t.test(
    `${tier}: a tenant past its share of database time gets 429 STRATA_TENANT_DATABASE_TIME with Retry-After and writes nothing; the neighbour is served`,
    async (t) => {
      const heavy = await member(`heavy-${tier}`, tier);
      const neighbour = await member(`light-${tier}`, tier);
      const shareMs = 200;
      await configure(heavy, { dbTimeMsPerSecond: shareMs });
      const leadsOf = async (tenant: Member) => {
        const res = await api('GET', '/leads?limit=100', { token: tenant.token });
        if (res.status !== 200) throw new Error(`leads: ${res.status} ${JSON.stringify(res.body)}`);
        return res.body.items.length as number;
      };
      for (let round = 0; round < 3; round++) {
        const before = await leadsOf(heavy);
        // A write held 600 ms on a lock: 600 ms of statement time against a second's worth of 200.
        const { lock, watcher } = await lockLead(t, heavy);
        const held = api('PATCH', `/leads/${heavy.leadId}`, { token: heavy.token, body: { name: `round ${round}` } });
        await someoneWaits(watcher);
        await new Promise((r) => setTimeout(r, 600));
        await lock.query('COMMIT');
        t.equal((await held).status, 200, `round ${round}: the held write completes`);
        const mine = await burstBeside(t, heavy, neighbour, round);
        if (tier === 'dedicated') {
          t.same(
            mine.map((r) => r.status),
            [...Array(5).fill(200), 201],
            `round ${round}: a dedicated tenant, alone on its pool, is not held to a share`,
          );
          continue;
        }
        t.same(
          mine.map((r) => r.status),
          Array(6).fill(429),
          `round ${round}: every request is refused at once while the tenant owes more than the queue wait`,
        );
        t.same(new Set(mine.map((r) => r.body.code)), new Set(['STRATA_TENANT_DATABASE_TIME']));
        t.same(new Set(mine.map((r) => r.body.dbTimeMsPerSecond)), new Set([shareMs]));
        const retryAfter = mine.map((r) => Number(r.headers.get('retry-after')));
        t.ok(
          retryAfter.every((s) => Number.isInteger(s) && s >= 1 && s <= 5),
          `Retry-After: the seconds until the ~400 ms overdrawn are earned back (${retryAfter})`,
        );
        await new Promise((r) => setTimeout(r, Math.max(...retryAfter) * 1000));
        t.equal(await leadsOf(heavy), before, `round ${round}: served again after Retry-After, and the refused create wrote nothing`);
      }
      const refused = platform.router.guardRejections.of(heavy.id).dbTime;
      t.equal(refused, tier === 'dedicated' ? 0 : 18, 'each refusal counted for the tenant');
      t.equal(platform.router.guardRejections.of(neighbour.id).dbTime, 0);
      t.match(platform.router.stats(), { inFlight: 0, queued: 0 }, 'no slot held or queued once all is answered');
    },
  );
}
