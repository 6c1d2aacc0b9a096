/**
 * The advice core on plain figures: the signals the HTTP test cannot earn quickly (sizes, p99),
 * the choice of server, and the cases where no advice is right.
 */
import t from 'tap';
import type { DatabaseServer } from '../../src/catalog/catalog-client.js';
import type { ServerLoad } from '../../src/servers/server-capacity.js';
import { type AdviceTenant, type AdviceThresholds, recommend } from '../../src/recommendations/tier-advice.js';
import { emptyFigures, type LoadFigures } from '../../src/usage/load-totals.js';
import { latencyBoundsMs } from '../../src/usage/tenant-load.js';

const thresholds: AdviceThresholds = {
  dbTimeShare: 0.5,
  minDbMsPerMinute: 3000,
  rateShare: 0.8,
  p99Ms: 1000,
  minRequests: 100,
  guardRejections: 10,
  maxRows: { pooled: 100_000, schema: 5_000_000 },
  maxStorageBytes: { pooled: 100 * 1024 ** 2, schema: 5120 * 1024 ** 2 },
  idlePerMinute: 1,
};
const hourMs = 3_600_000;
const nowMs = Date.UTC(2026, 11, 6, 12);

/** A server as the catalog has it, with the capacity fields advice reads. */
function server(id: string, tenants: Partial<ServerLoad['tenants']> = {}, fields: Partial<DatabaseServer> = {}): ServerLoad {
  const row = {
    id,
    name: id,
    state: 'active',
    downSince: null,
    weight: 1,
    maxPooledTenants: null,
    maxSchemaTenants: null,
    maxDedicatedTenants: null,
    maxStorageBytes: null,
    storageBytes: null,
    ...fields,
  };
  return { server: row as DatabaseServer, tenants: { pooled: 0, schema: 0, dedicated: 0, ...tenants } };
}

function tenant(id: string, tier: AdviceTenant['tier'], fields: Partial<AdviceTenant> = {}): AdviceTenant {
  return {
    id,
    slug: id,
    tier,
    serverId: 'main',
    plan: 'business',
    requestsPerMinute: 3000,
    movable: true,
    createdAtMs: nowMs - 10 * hourMs,
    movedAtMs: null,
    ...fields,
  };
}

const load = (fields: Partial<LoadFigures>): LoadFigures => ({ ...emptyFigures(), ...fields });

function advise(
  tenants: AdviceTenant[],
  figures: Record<string, Partial<LoadFigures>>,
  options: { servers?: ServerLoad[]; footprints?: Record<string, { rows: number; bytes: number }> } = {},
) {
  return recommend(
    {
      nowMs,
      windowMs: hourMs,
      tenants,
      servers: options.servers ?? [server('main')],
      figures: new Map(Object.entries(figures).map(([id, f]) => [id, load(f)])),
      footprints: new Map(Object.entries(options.footprints ?? {})),
    },
    thresholds,
  );
}

t.test('sizes past the tier’s thresholds advise up, however quiet the tenant is', async (t) => {
  const recs = advise(
    [tenant('big-pooled', 'pooled'), tenant('big-schema', 'schema'), tenant('big-dedicated', 'dedicated', { plan: 'enterprise' })],
    {},
    {
      footprints: {
        'big-pooled': { rows: 100_000, bytes: 1 },
        'big-schema': { rows: 1, bytes: 6000 * 1024 ** 2 },
        'big-dedicated': { rows: 10 ** 9, bytes: 10 ** 12 },
      },
    },
  );
  t.match(recs, [
    {
      tenantId: 'big-pooled',
      direction: 'up',
      suggested: { tier: 'schema', server: 'main' },
      evidence: [{ signal: 'rows', value: 100_000, threshold: 100_000 }],
    },
    {
      tenantId: 'big-schema',
      direction: 'up',
      move: { targetTier: 'dedicated', targetServer: 'main' },
      evidence: [{ signal: 'storage', threshold: 5120 * 1024 ** 2 }],
    },
  ]);
  t.equal(recs.length, 2, 'the top tier has no size to outgrow');
});

t.test('p99 counts once the tenant served enough requests', async (t) => {
  const slow = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  slow[latencyBoundsMs.indexOf(2500)] = 99;
  const few = advise([tenant('slow', 'pooled')], { slow: { requests: 99, latency: slow } });
  t.same(few, [], '99 requests: not yet');
  slow[0] = 1;
  const enough = advise([tenant('slow', 'pooled')], { slow: { requests: 100, latency: slow } });
  t.match(enough, [{ direction: 'up', evidence: [{ signal: 'p99', value: 2500, threshold: 1000 }] }]);
  const fast = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  fast[latencyBoundsMs.indexOf(1000)] = 100;
  t.same(advise([tenant('slow', 'pooled')], { slow: { requests: 100, latency: fast } }), [], 'a p99 in the bucket up to the threshold is not above it');
  const between = recommend(
    {
      nowMs,
      windowMs: hourMs,
      tenants: [tenant('slow', 'pooled')],
      servers: [server('main')],
      figures: new Map([['slow', load({ requests: 100, latency: fast })]]),
      footprints: new Map(),
    },
    { ...thresholds, p99Ms: 700 },
  );
  t.same(between, [], 'nor with a threshold inside that bucket (500 to 1000 ms): the p99 may be under 700 ms');
});

t.test('a database-time share counts only above the floor, and every tenant’s time on the server counts', async (t) => {
  // 60 s per hour is 1 s a minute, under the 3 s floor: a quiet server's only busy tenant.
  t.same(advise([tenant('alone', 'pooled')], { alone: { dbTimeMs: 60_000 } }), []);
  // A tenant being moved is not advised, but its time still counts towards its server's.
  const recs = advise([tenant('hog', 'pooled'), tenant('busy-moving', 'schema', { movable: false })], {
    hog: { dbTimeMs: 600_000 },
    'busy-moving': { dbTimeMs: 500_000 },
  });
  t.match(recs, [
    {
      tenantId: 'hog',
      evidence: [
        { signal: 'dbTimeShare', value: 0.545 },
        { signal: 'dbTimePerMinute', value: 10_000 },
      ],
    },
  ]);
  t.equal(recs.length, 1);
});

t.test('a busy dedicated tenant goes to a less loaded server, or is blocked', async (t) => {
  const tenants = [tenant('heavy', 'dedicated', { plan: 'enterprise' }), tenant('other', 'schema')];
  const figures = { heavy: { dbTimeMs: 1_000_000 }, other: { dbTimeMs: 200_000 }, far: { dbTimeMs: 100_000 } };
  const far = tenant('far', 'schema', { serverId: 'light' });
  const lighter = advise([...tenants, far], figures, { servers: [server('main'), server('light')] });
  t.match(lighter, [
    { tenantId: 'heavy', suggested: { tier: 'dedicated', server: 'light' }, move: { targetTier: 'dedicated', targetServer: 'light' }, blocked: null },
  ]);
  // Moved there, it would carry more than it does here.
  const heavier = advise([...tenants, far], { ...figures, far: { dbTimeMs: 900_000 } }, { servers: [server('main'), server('light')] });
  t.match(heavier, [{ tenantId: 'heavy', suggested: { server: null }, move: null, blocked: /no other server/ }]);
  const closed = advise([...tenants, far], figures, { servers: [server('main'), server('light', {}, { state: 'cordoned' })] });
  t.match(closed, [{ tenantId: 'heavy', move: null }], 'a cordoned server takes nobody');
});

t.test('up a tier on its own server unless that one refuses the tier; then the least loaded that takes it', async (t) => {
  const servers = [server('main', { schema: 1 }, { maxSchemaTenants: 1 }), server('b'), server('c')];
  const tenants = [tenant('grown', 'pooled'), tenant('on-b', 'schema', { serverId: 'b' })];
  const recs = advise(tenants, { 'on-b': { dbTimeMs: 1000 } }, { servers, footprints: { grown: { rows: 200_000, bytes: 1 } } });
  t.match(recs, [{ tenantId: 'grown', current: { server: 'main' }, move: { targetTier: 'schema', targetServer: 'c' } }]);
  const none = advise(tenants.slice(0, 1), {}, { servers: servers.slice(0, 1), footprints: { grown: { rows: 200_000, bytes: 1 } } });
  t.match(none, [{ move: null, blocked: 'no server takes a new schema tenant' }]);
});

t.test('a dedicated tenant idle for the whole window is advised down to a schema, unless…', async (t) => {
  const idle = advise([tenant('idle', 'dedicated')], { idle: { requests: 60 } }, { footprints: { idle: { rows: 500, bytes: 1e6 } } });
  t.match(idle, [
    {
      direction: 'down',
      suggested: { tier: 'schema', server: 'main' },
      evidence: [{ signal: 'requestRate', value: 1, crossed: 'below' }, { signal: 'rows', crossed: 'below' }, { signal: 'storage' }],
    },
  ]);
  t.same(advise([tenant('idle', 'dedicated')], { idle: { requests: 61 } }), [], '…it served more than a request a minute');
  t.same(advise([tenant('idle', 'dedicated', { plan: 'enterprise' })], {}), [], '…its plan promises a dedicated database');
  t.same(advise([tenant('idle', 'dedicated', { createdAtMs: nowMs - 10 * 60_000 })], {}), [], '…it was created inside the window');
  t.same(advise([tenant('idle', 'dedicated', { movedAtMs: nowMs - 10 * 60_000 })], {}), [], '…it became dedicated inside the window');
  t.same(advise([tenant('idle', 'dedicated')], {}, { footprints: { idle: { rows: 6_000_000, bytes: 1 } } }), [], '…it would outgrow a schema at once');
});

t.test('load measured partly before a move says nothing of the new placement', async (t) => {
  const guarded = { guardRejections: 50 };
  t.same(advise([tenant('moved', 'schema', { movedAtMs: nowMs - 60_000 })], { moved: guarded }), []);
  t.match(advise([tenant('moved', 'schema', { movedAtMs: nowMs - 2 * hourMs })], { moved: guarded }), [
    { direction: 'up', evidence: [{ signal: 'guardRejections', value: 50 }] },
  ]);
});

t.test('up before down, the most evidence first', async (t) => {
  const recs = advise([tenant('idle', 'dedicated'), tenant('one-signal', 'pooled'), tenant('two-signals', 'pooled')], {
    'one-signal': { guardRejections: 10 },
    'two-signals': { guardRejections: 10, requests: 3000 * 60 },
  });
  t.same(
    recs.map((r) => r.tenantId),
    ['two-signals', 'one-signal', 'idle'],
  );
});
