/**
 * `npm run move` as an operator runs it, with no TTY: structured progress on stdout, the tenant's
 * rows carried over, its history, and the operator recorded in the admin trail (a run used to
 * write the move with no actor at all).
 */
import { userInfo } from 'node:os';
import t from 'tap';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { runScript } from '../support/run-script.js';
import { seedTenantRows } from '../support/tenant-rows.js';

// Each run starts a platform of its own: seconds apiece on a busy machine.
t.setTimeout(600_000);
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });

const moveCli = (args: string[]) =>
  runScript('move', args, {
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: platform.config.database.prefix,
    REDIS_URL: '',
    STRATA_SPARE_SCHEMAS: '0',
    STRATA_MOVE_GRACE_MS: '0',
  });

const trail = (tenantId: string, action: string) => platform.catalog.adminAuditEvent.findMany({ where: { tenantId, action } });
const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; status?: string });

t.test('a pooled tenant moved to schema: progress events, every row carried, the operator audited', async (t) => {
  const tenant = await provision(platform, 'pooled', 'cli-mover');
  await seedTenantRows(platform, tenant, 200);
  const run = await moveCli(['--tenant', tenant.slug, '--to', 'schema']);
  t.equal(run.code, 0, run.stderr);
  const shown = events(run.stdout);
  t.ok(
    shown.some((e) => e.event === 'move.phase'),
    'phases are reported as events',
  );
  t.match(shown.at(-1), { event: 'move.finished', status: 'succeeded' });

  const moved = (await platform.tenants.byId(tenant.id))!;
  t.match(moved, { tier: 'schema', status: 'active' });
  t.equal(await platform.router.clientFor(moved).lead.count(), 200, 'every lead is served from the new schema');

  const [request] = await trail(tenant.id, 'tenant.move.request');
  t.match(request, { adminId: null, details: { operator: `operator:${userInfo().username}`, to: { tier: 'schema' } } });

  const history = await moveCli(['--history', '--tenant', tenant.slug]);
  t.equal(history.code, 0, history.stderr);
  t.match(JSON.parse(history.stdout.trim().split('\n')[0]!), { from: 'pooled', to: 'schema', status: 'succeeded' });
});

t.test('--actor names the operator', async (t) => {
  const tenant = await provision(platform, 'schema', 'cli-actor');
  const run = await moveCli(['--tenant', tenant.id, '--to', 'pooled', '--actor', 'ops:grace']);
  t.equal(run.code, 0, run.stderr);
  const [request] = await trail(tenant.id, 'tenant.move.request');
  t.match(request, { adminId: null, details: { operator: 'ops:grace' } });
});

t.test('refusals name what is wrong, exit non-zero and start nothing', async (t) => {
  const tenant = await provision(platform, 'pooled', 'cli-refused');
  for (const [args, said] of [
    [['--tenant', tenant.slug, '--to', 'sideways'], /usage: move/],
    [['--tenant', 'no-such-tenant', '--to', 'schema'], /no tenant no-such-tenant/],
    [['--tenant', tenant.slug, '--to', 'pooled'], /already pooled/],
  ] as const) {
    const run = await moveCli([...args]);
    t.not(run.code, 0, `${args.join(' ')} is refused`);
    t.match(run.stderr, said);
    t.notMatch(run.stderr, /at .*\(.*\.ts/, 'no stack trace');
  }
  t.equal(await platform.catalog.tenantMove.count({ where: { tenantId: tenant.id } }), 0, 'no move was recorded');
  t.match(await platform.tenants.byId(tenant.id), { tier: 'pooled', status: 'active' });
});
