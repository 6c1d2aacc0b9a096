/**
 * The admin routes the operator console reads, through real HTTP with a real admin login: the
 * fleet overview, migration status per target, tenant listing by server and slug, and a move's
 * progress streamed as Server-Sent Events until it succeeds.
 */
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startTestPlatform, testApp } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_MOVE_GRACE_MS: '0' });
const app = await testApp(t, platform);
const call = await frontDoor(app);
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const admin = await adminLogin(call);

const create = async (slug: string, tier: string) => {
  const res = await call('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'free', tier, owner: { email: `o@${slug}.example`, name: 'O' } },
  });
  if (res.status !== 201) throw new Error(`create ${slug}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.tenant.id as string;
};
const beta = await create('beta-co', 'pooled');
await create('alpha-co', 'schema');
await create('gamma-co', 'pooled');

t.test('GET /admin/fleet: tenants by tier and status, the server with its connections', async (t) => {
  const res = await call('GET', '/admin/fleet', { token: admin });
  t.equal(res.status, 200);
  t.same(
    res.json.tenants.filter((r: { status: string }) => r.status === 'active'),
    [
      { tier: 'pooled', status: 'active', count: 2 },
      { tier: 'schema', status: 'active', count: 1 },
    ],
  );
  const [server] = res.json.servers;
  t.match(server, { name: 'default', reachable: true, tenants: { pooled: 2, schema: 1, dedicated: 0 }, error: null });
  t.ok(server.connections > 0, `${server.connections} connections`);
  t.equal(res.json.movesRunning, 0);
  t.equal((await call('GET', '/admin/fleet')).status, 401, 'admins only');
});

t.test('GET /admin/migrations: every target current, filterable by tier', async (t) => {
  const all = await call('GET', '/admin/migrations', { token: admin });
  t.equal(all.status, 200);
  const targets = all.json.items.map((r: { target: string }) => r.target).sort();
  t.same(targets, ['catalog', 'pooled:default', 'schema:alpha-co']);
  t.ok(
    all.json.items.every((r: { state: string }) => r.state === 'current'),
    'all current',
  );
  t.match(
    all.json.items.find((r: { target: string }) => r.target === 'pooled:default'),
    { kind: 'pooled', server: 'default', carries: 2, pending: [] },
  );
  const schema = await call('GET', '/admin/migrations?tier=schema', { token: admin });
  t.same(
    schema.json.items.map((r: { tenant: string }) => r.tenant),
    ['alpha-co'],
  );
  t.equal((await call('GET', '/admin/migrations?tier=nope', { token: admin })).status, 400);
});

t.test('GET /admin/tenants: by slug in keyset pages, and by server', async (t) => {
  const slugs: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await call('GET', `/admin/tenants?sort=slug&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
    t.equal(res.status, 200);
    slugs.push(...res.json.items.map((i: { slug: string }) => i.slug));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(slugs, ['alpha-co', 'beta-co', 'gamma-co']);
  t.equal((await call('GET', '/admin/tenants?server=default', { token: admin })).json.items.length, 3);
  t.same((await call('GET', '/admin/tenants?server=elsewhere', { token: admin })).json.items, []);
  const bad = await call('GET', '/admin/tenants?sort=slug&cursor=bm90LWEtY3Vyc29y', { token: admin });
  t.equal(bad.status, 400, 'a cursor this API did not write is refused');
});

t.test('GET /admin/moves/:jobId/events streams a pooled → dedicated move until it succeeds', async (t) => {
  const started = await call('POST', `/admin/tenants/${beta}/moves`, { token: admin, body: { targetTier: 'dedicated' } });
  t.equal(started.status, 202);
  const url = `${base}/admin/moves/${started.json.id}/events`;
  t.equal((await fetch(url)).status, 401, 'admins only');
  const res = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  t.equal(res.headers.get('cache-control'), 'no-store');
  // The stream ends by itself once the job has finished.
  const text = await res.text();
  const moves = [...text.matchAll(/^event: move\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
  t.ok(moves.length >= 2, `${moves.length} events`);
  t.equal(moves.at(-1).status, 'succeeded');
  t.equal(moves.at(-1).percent, 100);
  t.ok(new Set(moves.map((m) => m.phase)).size >= 2, 'several phases seen');
  const unknown = await call('GET', '/admin/moves/00000000-0000-4000-8000-000000000000/events', { token: admin });
  t.equal(unknown.status, 404);
});
