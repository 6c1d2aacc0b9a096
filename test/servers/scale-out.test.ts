/**
 * Scale-out on three real PostgreSQL servers started here, under a live HTTP writer on every
 * tenant: a drain through the CLI killed mid-way and resumed through the admin API (no
 * acknowledged write lost, every tenant served but for brief fences), the emptied server removed;
 * it comes back empty and `npm run rebalance` evens the tenants out again; one server stops (its
 * tenants 503, marked down, nothing placed or planned there) and comes back.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { adminUrl, startTestPlatform, testApp } from '../helper.js';
import { type PrivatePostgres, startPrivatePostgres } from '../support/extra-server.js';
import { liveApi } from '../support/live-api.js';
import { runScript } from '../support/run-script.js';
import { testSecrets } from '../support/test-secrets.js';

t.setTimeout(900_000);
const platform = await startTestPlatform(t, {
  STRATA_SPARE_SCHEMAS: '0',
  STRATA_MOVE_GRACE_MS: '1000',
  STRATA_SERVER_PROBE_MS: '500',
  STRATA_SERVER_PROBE_TIMEOUT_MS: '1500',
});
const api = await liveApi(t, await testApp(t, platform));
const prefix = platform.config.database.prefix;
const env = { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: prefix, REDIS_URL: process.env.REDIS_URL ?? '', STRATA_MOVE_GRACE_MS: '1000' };
const admin = (await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken as string;

const servers: Record<string, PrivatePostgres> = {};
const register = async (name: string) => {
  const res = await api('POST', '/admin/servers', {
    token: admin,
    body: { name, host: '127.0.0.1', port: servers[name]!.port, bootstrap: { secretRef: `env:${name.toUpperCase()}_SUPERUSER_PASSWORD` } },
  });
  if (res.status !== 201) throw new Error(`registering ${name}: ${JSON.stringify(res.body)}`);
};
for (const name of ['s1', 's2', 's3']) {
  servers[name] = await startPrivatePostgres(t, name);
  process.env[`${name.toUpperCase()}_SUPERUSER_PASSWORD`] = decodeURIComponent(new URL(servers[name].url).password);
  await register(name);
}
await api('POST', '/admin/servers/default/cordon', { token: admin });

interface Live {
  id: string;
  slug: string;
  token: string;
  acknowledged: string[];
  /** Longest run of refused writes, ms. */
  longestPause: number;
  pausedSince?: number;
  refusals: Record<string, number>;
}
const tenants: Live[] = [];
const mix = { pooled: 12, schema: 9, dedicated: 6 };
for (const [tier, count] of Object.entries(mix)) {
  for (let i = 0; i < count; i++) {
    const slug = `${tier}-${i}`;
    const created = await api('POST', '/admin/tenants', {
      token: admin,
      body: { slug, name: slug, plan: 'free', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
    });
    if (created.status !== 201) throw new Error(`creating ${slug}: ${JSON.stringify(created.body)}`);
    const session = await api('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.body.owner.password } });
    tenants.push({ id: created.body.tenant.id, slug, token: session.body.accessToken, acknowledged: [], longestPause: 0, refusals: {} });
  }
}

const serverOf = async () => {
  const rows = await platform.catalog.tenant.findMany({ select: { slug: true, server: { select: { name: true } } } });
  return Object.fromEntries(rows.map((r) => [r.slug, r.server.name]));
};
const counts = async () => {
  const placed = Object.values(await serverOf());
  return Object.fromEntries(['s1', 's2', 's3'].map((s) => [s, placed.filter((p) => p === s).length]));
};

/** Writes to every tenant in turn until stopped; each acknowledged lead is remembered. */
let writing = true;
let writes = 0;
const skip = new Set<string>();
const writer = (async () => {
  while (writing) {
    for (const tenant of tenants) {
      if (skip.has(tenant.slug)) continue;
      const name = `w-${tenant.slug}-${++writes}`;
      const res = await api('POST', '/leads', { token: tenant.token, body: { name } });
      if (res.status === 201) {
        tenant.acknowledged.push(name);
        if (tenant.pausedSince) tenant.longestPause = Math.max(tenant.longestPause, Date.now() - tenant.pausedSince);
        tenant.pausedSince = undefined;
      } else {
        const key = `${res.status} ${res.body?.code}`;
        tenant.refusals[key] = (tenant.refusals[key] ?? 0) + 1;
        tenant.pausedSince ??= Date.now();
      }
    }
  }
})();
t.teardown(async () => {
  writing = false;
  await writer;
});

t.test('tenants are spread over the three servers by headroom', async (t) => {
  t.same(await counts(), { s1: 9, s2: 9, s3: 9 });
});

t.test('a drain killed mid-way resumes through the admin API, under live writes; the empty server is removed', async (t) => {
  await sleep(1000);
  const onS1 = Object.entries(await serverOf())
    .filter(([, s]) => s === 's1')
    .map(([slug]) => slug);
  // The CLI drain, killed (SIGKILL: nothing cleans up) once its first tenant has switched.
  const child = spawn('npm', ['run', '-s', 'server', '--', 'drain', 's1', '--concurrency', '3'], {
    env: { ...process.env, ...testSecrets, LOG_LEVEL: 'silent', ...env },
    detached: true,
  });
  const events: Record<string, unknown>[] = [];
  let output = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      const lines = output.split('\n');
      output = lines.pop()!;
      for (const line of lines) events.push(JSON.parse(line));
      if (events.some((e) => e.event === 'move.switched')) resolve();
    });
    child.on('close', () => resolve());
  });
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // It had already ended: the drain below then has nothing to resume.
  }
  t.match(events[0], { event: 'start', label: 'drain s1', total: 9 }, 'structured events without a terminal');
  t.ok(
    events.some((e) => e.event === 'move.started'),
    'moves were under way when it was killed',
  );
  t.equal((await api('GET', '/admin/servers', { token: admin })).body.items.find((s: { name: string }) => s.name === 's1').state, 'draining');
  t.equal(
    (
      await api('POST', '/admin/tenants', {
        token: admin,
        body: { slug: 'late-comer', name: 'Late', plan: 'free', tier: 'pooled', server: 's1', owner: { email: 'owner@late.example', name: 'O' } },
      })
    ).body.code,
    'STRATA_SERVER_CORDONED',
    'a draining server takes no tenant',
  );

  const resumed = await api('POST', '/admin/servers/s1/drain', { token: admin, body: { concurrency: 3 } });
  t.equal(resumed.status, 202, JSON.stringify(resumed.body));
  t.equal(resumed.body.running, true);
  let status = resumed.body;
  const deadline = Date.now() + 300_000;
  while (status.running && Date.now() < deadline) {
    await sleep(500);
    status = (await api('GET', '/admin/servers/s1/drain', { token: admin })).body;
  }
  t.match(status, {
    running: false,
    remaining: { pooled: 0, schema: 0, dedicated: 0 },
    moving: 0,
    blocked: [],
    lastRun: { failed: 0, remaining: 0, error: null },
  });
  const placed = await serverOf();
  t.same(
    onS1.filter((slug) => placed[slug] === 's1'),
    [],
    'every tenant of s1 moved',
  );
  const spread = await counts();
  t.equal(spread.s1, 0, 'nothing left on s1');
  t.equal(spread.s2! + spread.s3!, 27);
  const moves = await platform.catalog.tenantMove.findMany({ where: { tenantId: { in: tenants.filter((x) => onS1.includes(x.slug)).map((x) => x.id) } } });
  t.equal(moves.filter((m) => m.status === 'succeeded').length, 9, 'one successful, audited move per tenant');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'tenant.move.succeeded' } }), 9);

  const removed = await api('DELETE', '/admin/servers/s1', { token: admin });
  t.equal(removed.status, 204, JSON.stringify(removed.body));
});

t.test('a server added empty is filled by npm run rebalance, every move audited', async (t) => {
  await register('s1');
  const movesBefore = await platform.catalog.tenantMove.count();
  const plan = await runScript('rebalance', ['plan', '--json'], env);
  t.equal(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout);
  t.ok(planned.moves.length >= 8, `${planned.moves.length} moves planned`);
  t.ok(
    planned.moves.every((m: { to: string }) => m.to === 's1'),
    'all to the empty server',
  );
  t.equal(await platform.catalog.tenantMove.count(), movesBefore, 'a plan moves nothing');

  // The live writer's statements, as the usage accounting measured them.
  const dbTime = await runScript('rebalance', ['plan', '--by', 'dbTime', '--window', '1h', '--json'], env);
  t.equal(dbTime.code, 0, dbTime.stderr);
  const measured = JSON.parse(dbTime.stdout).before.filter((s: { server: string }) => s.server !== 's1');
  t.ok(measured.length === 2 && measured.every((s: { value: number }) => s.value > 0), 'database time measured on the servers that served');
  t.equal((await runScript('rebalance', ['plan', '--by', 'dbTime', '--window', 'soon'], env)).code, 64, 'a window that is no duration is refused');

  const applied = await runScript('rebalance', ['apply', '--max-moves', '9', '--concurrency', '3'], env);
  t.equal(applied.code, 0, applied.stderr + applied.stdout);
  const finished = applied.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .at(-1);
  t.match(finished, { event: 'rebalance.finished', moved: planned.moves.length, failed: [] });
  t.same(await counts(), { s1: 9, s2: 9, s3: 9 }, 'even again');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.rebalance' } }), 1);
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'tenant.move.succeeded' } }), 9 + planned.moves.length);
  const after = await runScript('rebalance', ['plan', '--json'], env);
  t.equal(JSON.parse(after.stdout).moves.length, 0, 'nothing left to even out');
});

t.test('no acknowledged write was lost; writes paused only briefly', async (t) => {
  await sleep(500);
  for (const tenant of tenants) {
    const row = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    const names = new Set((await platform.router.clientFor(row).lead.findMany({ select: { name: true } })).map((l) => l.name));
    const lost = tenant.acknowledged.filter((n) => !names.has(n));
    t.same(lost, [], `${tenant.slug}: all ${tenant.acknowledged.length} acknowledged writes are there`);
    t.ok(tenant.acknowledged.length > 5, `${tenant.slug} kept being written`);
    t.same(
      Object.keys(tenant.refusals).filter((k) => k !== '503 STRATA_TENANT_MOVING'),
      [],
      `${tenant.slug}: refused only by move fences`,
    );
    t.ok(tenant.longestPause < 15_000, `${tenant.slug}: longest pause ${tenant.longestPause} ms`);
  }
});

t.test('a server that stops is marked down: its tenants 503, the others are served, nothing goes there', async (t) => {
  const placed = await serverOf();
  const onS2 = tenants.filter((x) => placed[x.slug] === 's2');
  const elsewhere = tenants.filter((x) => placed[x.slug] !== 's2');
  for (const x of onS2) skip.add(x.slug);
  await servers.s2!.stop();
  const deadline = Date.now() + 20_000;
  let state = '';
  while (state !== 'down' && Date.now() < deadline) {
    await sleep(200);
    state = (await api('GET', '/admin/servers', { token: admin })).body.items.find((s: { name: string }) => s.name === 's2').state;
  }
  t.equal(state, 'down');
  t.equal((await api('GET', '/leads?limit=1', { token: onS2[0]!.token })).status, 503, 'its tenants get 503');
  for (const x of elsewhere.slice(0, 6)) t.equal((await api('GET', '/leads?limit=1', { token: x.token })).status, 200, `${x.slug} is served`);
  const created = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug: 'while-down', name: 'W', plan: 'free', tier: 'pooled', owner: { email: 'owner@while-down.example', name: 'O' } },
  });
  t.equal(created.status, 201);
  t.not((await serverOf())['while-down'], 's2', 'placed elsewhere');
  const plan = JSON.parse((await runScript('rebalance', ['plan', '--json'], env)).stdout);
  t.notOk(
    plan.before.some((s: { server: string }) => s.server === 's2'),
    'a down server is left out of rebalancing',
  );

  await servers.s2!.start();
  const back = Date.now() + 20_000;
  while (state !== 'active' && Date.now() < back) {
    await sleep(200);
    state = (await api('GET', '/admin/servers', { token: admin })).body.items.find((s: { name: string }) => s.name === 's2').state;
  }
  t.equal(state, 'active', 'up again');
  let served = 0;
  const until = Date.now() + 15_000;
  while (served !== 200 && Date.now() < until) {
    served = (await api('GET', '/leads?limit=1', { token: onS2[0]!.token })).status;
    if (served !== 200) await sleep(200);
  }
  t.equal(served, 200, 'its tenants are served again');
});
