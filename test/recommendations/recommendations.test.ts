/**
 * Tier advice earned through the public API, on every tier: tenants log in and load the API for
 * real, their windows are flushed, and GET /admin/recommendations advises the busy pooled and schema
 * tenants up and the idle dedicated one down, each with the signals it crossed and the move body
 * the move route accepts. When the load stops (a six-second window passes) the advice goes.
 * Tenant tokens reach none of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { startTestPlatform, testApp, tiers } from '../helper.js';
import { adminLogin, type Call, frontDoor } from '../support/front-door.js';

const windowMs = 6000;
const platform = await startTestPlatform(t, {
  STRATA_USAGE_WINDOW_MS: '1000',
  // Flushed when the test asks; sizes are not what this test is about.
  STRATA_USAGE_FLUSH_MS: '600000',
  STRATA_USAGE_FOOTPRINT_MS: '600000',
  STRATA_SPARE_SCHEMAS: '0',
  STRATA_RATE_LIMIT_PLANS: 'free=1000000,starter=3000,business=3000',
  STRATA_ADVICE_WINDOW_MS: String(windowMs),
  // 300 requests a minute sustained over the window, a third of the server's database time, one guard rejection.
  STRATA_ADVICE_RATE_SHARE: '0.1',
  STRATA_ADVICE_DB_TIME_SHARE: '0.3',
  STRATA_ADVICE_MIN_DB_MS_PER_MINUTE: '100',
  STRATA_ADVICE_GUARD_REJECTIONS: '1',
  // A statement over its tenant's concurrency cap is refused at once.
  STRATA_TENANT_QUEUE_WAIT_MS: '1',
});
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);

async function tenantWithOwner(slug: string, plan: string, tier: string) {
  const created = await call('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan, tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`${slug}: ${created.status} ${JSON.stringify(created.json)}`);
  const login = await call('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.json.owner.password } });
  return { id: created.json.tenant.id as string, slug, token: login.json.accessToken as string };
}

/** `n` requests as the tenant, `concurrency` at a time: mostly lists of its leads, every fifth one a new lead. */
async function load(caller: Call, token: string, n: number, concurrency = 4) {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const res = i % 5 === 0 ? await caller('POST', '/leads', { token, body: { name: `Lead ${i}` } }) : await caller('GET', '/leads?limit=50', { token });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

interface Evidence {
  signal: string;
  value: number;
  threshold: number;
  crossed: 'above' | 'below';
}
interface Rec {
  tenantId: string;
  direction: 'up' | 'down';
  current: { tier: string; server: string };
  suggested: { tier: string; server: string | null };
  evidence: Evidence[];
  move: { targetTier: string; targetServer: string } | null;
  blocked: string | null;
}

async function advice(): Promise<Rec[]> {
  await platform.load.flush();
  const res = await call('GET', '/admin/recommendations', { token: admin });
  if (res.status !== 200) throw new Error(`recommendations: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.items;
}
const of = (recs: Rec[], id: string) => recs.filter((r) => r.tenantId === id);
const signalsOf = (rec: Rec | undefined) => rec?.evidence.map((e) => e.signal) ?? [];

/** Every piece of evidence really crossed its threshold, the way it says. */
function crossedAll(t: Test, rec: Rec) {
  for (const e of rec.evidence)
    t.ok(e.crossed === 'above' ? e.value >= e.threshold : e.value <= e.threshold, `${e.signal}: ${e.value} ${e.crossed} ${e.threshold}`);
}

const pooled = await tenantWithOwner('hot-pooled', 'starter', 'pooled');
const schema = await tenantWithOwner('hot-schema', 'business', 'schema');
const dedicated = await tenantWithOwner('calm-dedicated', 'business', 'dedicated');
const neighbour = await tenantWithOwner('quiet-pooled', 'starter', 'pooled');
// One statement at a time for the schema tenant: its concurrent requests meet the guard.
t.equal((await call('PATCH', `/admin/tenants/${schema.id}`, { token: admin, body: { config: { limits: { maxConcurrentStatements: 1 } } } })).status, 200);

t.test('busy pooled and schema tenants are advised up with their evidence, their quiet neighbour is not', async (t) => {
  const [pooledLoad, schemaLoad] = await Promise.all([
    load(call, pooled.token, 150),
    load(call, schema.token, 150),
    call('GET', '/leads', { token: neighbour.token }),
  ]);
  t.comment(`pooled answers ${JSON.stringify([...pooledLoad])}, schema answers ${JSON.stringify([...schemaLoad])}`);
  t.ok(schemaLoad.get(503), 'the schema tenant met its concurrency cap');
  const recs = await advice();

  const [up] = of(recs, pooled.id);
  t.match(up, {
    direction: 'up',
    current: { tier: 'pooled', server: 'default' },
    suggested: { tier: 'schema', server: 'default' },
    move: { targetTier: 'schema', targetServer: 'default' },
    blocked: null,
  });
  t.ok(signalsOf(up).includes('requestRate'), `pooled: its request rate is evidence (${JSON.stringify(up?.evidence)})`);
  crossedAll(t, up!);

  const [upSchema] = of(recs, schema.id);
  t.match(upSchema, {
    direction: 'up',
    current: { tier: 'schema' },
    suggested: { tier: 'dedicated', server: 'default' },
    move: { targetTier: 'dedicated', targetServer: 'default' },
  });
  t.ok(
    signalsOf(upSchema).includes('requestRate') && signalsOf(upSchema).includes('guardRejections'),
    `schema: its rate and guard rejections are evidence (${JSON.stringify(upSchema?.evidence)})`,
  );
  crossedAll(t, upSchema!);
  t.ok(
    [up, upSchema].some((r) => signalsOf(r).includes('dbTimeShare')),
    'the busier of the two holds more than a third of the server’s database time',
  );

  // (Whether the dedicated tenant idled a whole window yet depends on this machine's speed: tier-advice.test.ts covers that.)
  t.same(of(recs, neighbour.id), [], 'the quiet neighbour on the same pool is not advised');
});

t.test('when the load stops the advice goes, and a dedicated tenant idle for the whole window is advised down', async (t) => {
  await sleep(windowMs + 500);
  const recs = await advice();
  t.same(of(recs, pooled.id), [], 'pooled: no advice once its load left the window');
  t.same(of(recs, schema.id), [], 'schema: likewise');
  const [down] = of(recs, dedicated.id);
  t.match(down, {
    direction: 'down',
    current: { tier: 'dedicated' },
    suggested: { tier: 'schema', server: 'default' },
    move: { targetTier: 'schema', targetServer: 'default' },
  });
  t.same(signalsOf(down), ['requestRate'], 'idle: its request rate (sizes are not measured here)');
  crossedAll(t, down!);
});

t.test('a busy dedicated tenant is not idle: advised up to a less loaded server, blocked when there is none', async (t) => {
  await load(call, dedicated.token, 150);
  const recs = await advice();
  const mine = of(recs, dedicated.id);
  t.equal(mine.length, 1);
  t.match(mine[0], { direction: 'up', current: { tier: 'dedicated' }, suggested: { tier: 'dedicated', server: null }, move: null });
  t.match(mine[0]?.blocked, /no other server/);
  t.ok(signalsOf(mine[0]).includes('requestRate'));

  await sleep(windowMs + 500);
  const later = of(await advice(), dedicated.id);
  t.match(later, [{ direction: 'down' }], 'once its load left the window it idles again');
  // The move body is the move route's own: posting it starts the move, and a moving tenant is not advised.
  const moved = await call('POST', `/admin/tenants/${dedicated.id}/moves`, { token: admin, body: later[0]!.move });
  t.equal(moved.status, 202, JSON.stringify(moved.json));
  t.same(of(await advice(), dedicated.id), [], 'a tenant being moved is not advised');
});

t.test('admin only, on every tier; bad queries name the field; documented', async (t) => {
  const byTier = { pooled, schema, dedicated };
  for (const tier of tiers) {
    const res = await call('GET', '/admin/recommendations', { token: byTier[tier].token });
    t.equal(res.status, 401, `${tier}: a tenant token reads no advice (not even its own)`);
    t.notMatch(JSON.stringify(res.json), /hot-|calm-|quiet-/, `${tier}: the refusal names no tenant`);
  }
  t.equal((await call('GET', '/admin/recommendations')).status, 401, 'no token');
  for (const [query, field] of [
    ['window=soon', 'querystring.window'],
    ['window=100h', 'querystring.window'],
    ['direction=sideways', 'querystring.direction'],
    ['tenant=x', 'querystring'],
  ] as const) {
    const res = await call('GET', `/admin/recommendations?${query}`, { token: admin });
    t.equal(res.status, 400, query);
    t.match(JSON.stringify(res.json), field, `${query}: names ${field}`);
  }
  const documented = (await call('GET', '/docs/json')).json.paths['/admin/recommendations']?.get;
  t.same(documented?.parameters.map((p: { name: string }) => p.name).sort(), ['direction', 'window'], 'in the OpenAPI document, with its query');
  t.ok(documented?.responses[200], 'and its answer');
  const up = await call('GET', '/admin/recommendations?direction=up&window=1h', { token: admin });
  t.equal(up.status, 200);
  t.ok(
    up.json.items.every((r: Rec) => r.direction === 'up'),
    'direction filters',
  );
  t.equal(up.json.windowMs, 3_600_000);
});
