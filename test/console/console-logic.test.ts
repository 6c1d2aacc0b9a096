/** The console's front-end logic that runs without a browser: SSE framing, routes, the config form, migration groups, charts, recommendations in words. */
import t from 'tap';
import { describeEvidence, describeMove } from '../../src/console/ui/advice.js';
import { describeBars, isSpan, scaleTop, spans, tickIndexes, timeLabel, usageQuery } from '../../src/console/ui/charts.js';
import { configToForm, fieldErrorsFromProblem, formToConfig, mergePatchBetween, validateConfig } from '../../src/console/ui/config-form.js';
import { groupTargets } from '../../src/console/ui/migration-groups.js';
import { href, parseRoute } from '../../src/console/ui/routes.js';
import { SseParser } from '../../src/console/ui/sse.js';
import type { Evidence, Recommendation } from '../../src/console/ui/types.js';
import { mergePatch } from '../../src/settings/tenant-config.js';

t.test('SSE: frames split anywhere, comments and retry skipped, multi-line data joined', async (t) => {
  const parser = new SseParser();
  const stream = 'retry: 2000\n\n: keep-alive\n\nid: 1\nevent: move\ndata: {"a":1}\n\nevent: move\r\ndata: line one\r\ndata: line two\r\n\r\ndata:x\n\n';
  const events = [];
  for (let i = 0; i < stream.length; i += 3) events.push(...parser.push(stream.slice(i, i + 3)));
  t.same(events, [
    { event: 'move', data: '{"a":1}', id: '1' },
    { event: 'move', data: 'line one\nline two' },
    { event: 'message', data: 'x' },
  ]);
  t.same(parser.push('event: move\ndata: half'), [], 'an unfinished frame waits');
});

t.test('routes: parsed from the hash and written back', async (t) => {
  const id = '3e526dc3-196a-4da7-a8db-20af33f1e2fe';
  t.same(parseRoute(''), { page: 'overview' });
  t.same(parseRoute('#/tenants?tier=pooled&search=ac%20me'), { page: 'tenants', query: { tier: 'pooled', search: 'ac me' } });
  t.same(parseRoute(`#/tenants/${id}`), { page: 'tenant', id });
  t.same(parseRoute('#/tenants/not-an-id'), { page: 'tenants', query: {} });
  t.same(parseRoute('#/nowhere'), { page: 'overview' });
  t.equal(href({ page: 'tenants', query: { tier: 'schema', status: '' } }), '#/tenants?tier=schema', 'empty filters are left out');
  for (const hash of ['#/', '#/migrations', '#/audit?action=tenant.suspend', `#/tenants/${id}`]) t.equal(href(parseRoute(hash)), hash);
});

t.test('config form: the API schema’s errors per field, numbers and "unlimited" typed', async (t) => {
  const stored = { branding: { primaryColor: '#112233', displayName: 'Acme' }, limits: { users: 10, leads: 'unlimited' as const }, features: { deals: false } };
  const form = configToForm(stored);
  t.equal(form['features.deals'], 'off');
  t.equal(form['features.activities'], '', 'left to the plan');
  t.same(formToConfig(form), stored, 'the form gives back the document');
  t.same(validateConfig(form), {});
  const bad = validateConfig({ ...form, 'branding.primaryColor': 'blue', 'limits.users': '-3', 'limits.leads': 'lots' });
  t.same(Object.keys(bad).sort(), ['branding.primaryColor', 'limits.leads', 'limits.users']);
  t.equal(bad['branding.primaryColor'], 'a colour like #1a2b3c');
  t.same(
    fieldErrorsFromProblem([
      { field: 'body.config.limits.users', message: 'too big' },
      { field: 'body.plan', message: 'x' },
    ]),
    { 'limits.users': 'too big' },
  );
});

t.test('merge patch between two documents: applying it gives the edited one', async (t) => {
  const before = { branding: { primaryColor: '#112233', displayName: 'Acme' }, limits: { users: 10 }, features: { deals: false } };
  const after = { branding: { primaryColor: '#445566', displayName: 'Acme' }, limits: { users: 10, leads: 5 } };
  const patch = mergePatchBetween(before, after);
  t.same(patch, { branding: { primaryColor: '#445566' }, limits: { leads: 5 }, features: null });
  t.same(mergePatch(before, patch), after, 'the server’s merge of the patch is the form’s document');
  t.equal(mergePatchBetween(after, structuredClone(after)), undefined, 'nothing to send when unchanged');
});

t.test('migration targets grouped by tier then server, counted per state', async (t) => {
  const groups = groupTargets([
    { kind: 'schema', server: 'eu2', state: 'pending' },
    { kind: 'schema', server: 'default', state: 'current' },
    { kind: 'schema', server: 'eu2', state: 'failed' },
    { kind: 'catalog', server: 'default', state: 'current' },
  ]);
  t.same(
    groups.map((g) => [g.kind, g.server, g.total, g.states.pending, g.states.failed]),
    [
      ['catalog', 'default', 1, 0, 0],
      ['schema', 'default', 1, 0, 0],
      ['schema', 'eu2', 2, 1, 1],
    ],
  );
});

t.test('charts: round top of scale, evenly spaced ticks ending on the last bar, one sentence for a screen reader', async (t) => {
  t.same([0, 0.4, 1, 7, 10, 11, 180, 2001].map(scaleTop), [1, 0.5, 1, 10, 10, 20, 200, 5000]);
  t.same(tickIndexes(0), []);
  t.same(tickIndexes(3), [0, 1, 2]);
  t.same(tickIndexes(36), [5, 11, 17, 23, 29, 35]);
  t.same(tickIndexes(60), [9, 19, 29, 39, 49, 59]);
  t.equal(timeLabel('2026-12-06T19:40:00.000Z', false), '19:40');
  t.equal(timeLabel('2026-12-06T19:40:00.000Z', true), '12-06 19:40');
  t.equal(usageQuery('6h'), 'span=6h&step=10m');
  t.ok(isSpan('48h') && !isSpan('7d'), 'only the listed spans');
  for (const [span, step] of Object.entries(spans)) {
    const ms = (text: string) => Number.parseInt(text, 10) * (text.endsWith('h') ? 3_600_000 : 60_000);
    t.ok(ms(span) / ms(step) <= 1500 && ms(span) % ms(step) === 0, `${span} in whole steps of ${step}, within the API's limit`);
  }
  const bars = [
    { label: '10:00', value: 0 },
    { label: '10:10', value: 1200 },
    { label: '10:20', value: 300 },
  ];
  t.equal(describeBars('Requests', bars, String), 'Requests: 1500 in all, at most 1200 (10:10)');
  t.equal(describeBars('Requests', bars.slice(0, 1), String), 'Requests: none');
});

t.test('recommendations in words: evidence with its unit, shares as percentages, sizes in bytes', async (t) => {
  const e = (signal: Evidence['signal'], value: number, threshold: number, unit: string, crossed: Evidence['crossed'] = 'above'): Evidence => ({
    signal,
    value,
    threshold,
    crossed,
    unit,
  });
  t.equal(describeEvidence(e('requestRate', 45.5, 30, 'requests per minute')), 'Request rate 45.5 requests per minute, at or above 30');
  t.equal(
    describeEvidence(e('dbTimeShare', 0.625, 0.5, 'share of its server’s database time')),
    'Database time 62.5% of its server’s database time, at or above 50%',
  );
  t.equal(describeEvidence(e('storage', 150 * 1024 ** 2, 100 * 1024 ** 2, 'bytes')), 'Storage 150.0 MiB, at or above 100.0 MiB');
  t.equal(describeEvidence(e('rows', 120_000, 100_000, 'rows')), 'Rows 120,000 rows, at or above 100,000');
  t.equal(describeEvidence(e('requestRate', 0, 1, 'requests per minute', 'below')), 'Request rate 0 requests per minute, at or below 1');
  const rec: Recommendation = {
    tenantId: '3e526dc3-196a-4da7-a8db-20af33f1e2fe',
    slug: 'acme',
    direction: 'up',
    current: { tier: 'schema', server: 'default' },
    suggested: { tier: 'dedicated', server: 'big' },
    evidence: [],
    move: { targetTier: 'dedicated', targetServer: 'big' },
    blocked: null,
  };
  t.equal(describeMove(rec), 'schema on default → dedicated on big');
  t.equal(
    describeMove({ ...rec, suggested: { tier: 'dedicated', server: null }, move: null, blocked: 'no server takes a new dedicated tenant' }),
    'schema on default → dedicated',
    'blocked: no server to name',
  );
});
