/**
 * `npm run provision` as an operator runs it. Regressions: two concurrent runs of one slug both
 * "resumed" one provisioning; a run wrote no admin audit event; reserved host names were accepted.
 */
import { userInfo } from 'node:os';
import t from 'tap';
import { reserveTenant } from '../../src/tenants/provision-tenant.js';
import { adminUrl, startTestPlatform, tiers } from '../helper.js';
import { runScript } from '../support/run-script.js';
import { superuserClient } from '../support/superuser.js';

// Each run starts a platform of its own: seconds apiece on a busy machine.
t.setTimeout(600_000);
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });

/** `npm run provision -- …` against this test's installation. */
const provisionCli = (args: string[]) =>
  runScript('provision', args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: platform.config.database.prefix, REDIS_URL: '', STRATA_SPARE_SCHEMAS: '0' });

const createEvents = (tenantId: string) => platform.catalog.adminAuditEvent.findMany({ where: { tenantId, action: 'tenant.create' } });

const catalogDb = await superuserClient(t, `${platform.config.database.prefix}_catalog`);
const waitingInserts = async () =>
  // A run waits at its insert, or at the placement lock the other holds while it waits at its insert.
  (
    await catalogDb.query(`SELECT count(*)::int AS n FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
       WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND NOT l.granted
         AND (c.relname = 'tenants' OR l.locktype = 'advisory')`)
  ).rows[0].n as number;

for (const tier of tiers) {
  t.test(`${tier}: two concurrent runs for one slug: one provisions it, the other is refused`, async (t) => {
    const slug = `cli-race-${tier}`;
    // Both runs are held at their insert of the tenant row (after both found the slug free), then let go together.
    await catalogDb.query('BEGIN; LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE');
    const racing = Promise.all([1, 2].map(() => provisionCli(['--slug', slug, '--tier', tier, '--plan', 'starter'])));
    for (let waited = 0; (await waitingInserts()) < 2; waited += 100) {
      if (waited > 240_000) throw new Error('the runs never reached their insert');
      await new Promise((r) => setTimeout(r, 100));
    }
    await catalogDb.query('COMMIT');
    const runs = await racing;
    const ok = runs.filter((r) => r.code === 0);
    t.equal(ok.length, 1, `exactly one succeeds (${runs.map((r) => `${r.code} ${r.stderr.trim()}`).join(' | ')})`);
    const refused = runs.find((r) => r.code !== 0)!;
    t.equal(refused.code, 73);
    t.match(refused.stderr, new RegExp(`not provisioned: A tenant with slug "${slug}" (is being provisioned|already exists)`));
    const rows = await platform.catalog.tenant.findMany({ where: { slug } });
    t.same(
      rows.map((r) => [r.id, r.status]),
      [[JSON.parse(ok[0]!.stdout).id, 'active']],
    );

    const events = await createEvents(rows[0]!.id);
    t.equal(events.length, 1, 'one audit event');
    t.match(events[0], { adminId: null, details: { slug, tier, plan: 'starter', operator: `operator:${userInfo().username}` } });
  });
}

t.test('--actor names the operator in the audit event', async (t) => {
  const run = await provisionCli(['--slug', 'cli-actor', '--actor', 'ops:grace']);
  t.equal(run.code, 0, run.stderr);
  const [event] = await createEvents(JSON.parse(run.stdout).id);
  t.match(event, { adminId: null, details: { operator: 'ops:grace' } });
});

t.test('an interrupted provisioning is finished only with --resume', async (t) => {
  const reserved = await reserveTenant(platform.provisioning, { slug: 'cli-crashed', name: 'crashed', plan: 'free', tier: 'schema' });
  const plain = await provisionCli(['--slug', 'cli-crashed', '--tier', 'schema']);
  t.equal(plain.code, 73);
  t.match(plain.stderr, /is being provisioned; if that provisioning was interrupted, resume it/);
  t.equal((await platform.catalog.tenant.findUniqueOrThrow({ where: { id: reserved.id } })).status, 'provisioning');

  const resumed = await provisionCli(['--slug', 'cli-crashed', '--tier', 'schema', '--resume']);
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(JSON.parse(resumed.stdout), { id: reserved.id, status: 'active' });
  t.match(await createEvents(reserved.id), [{ details: { resumed: true } }]);
});

t.test('reserved host names and bad slugs are usage errors; nothing is written', async (t) => {
  const [reserved, malformed] = await Promise.all([provisionCli(['--slug', 'www']), provisionCli(['--slug', 'Not-A-Slug'])]);
  t.equal(reserved.code, 64);
  t.match(reserved.stderr, /--slug: is reserved/);
  t.equal(malformed.code, 64);
  t.match(malformed.stderr, /--slug: 3–40 characters/);
  t.equal(await platform.catalog.tenant.count({ where: { slug: { in: ['www', 'not-a-slug'] } } }), 0);
});
