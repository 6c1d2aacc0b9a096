/** The console's front-end logic that runs without a browser: SSE framing, routes, the config form, migration groups. */
import t from 'tap';
import { configToForm, fieldErrorsFromProblem, formToConfig, mergePatchBetween, validateConfig } from '../../src/console/ui/config-form.js';
import { groupTargets } from '../../src/console/ui/migration-groups.js';
import { href, parseRoute } from '../../src/console/ui/routes.js';
import { SseParser } from '../../src/console/ui/sse.js';
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
  t.same(fieldErrorsFromProblem([{ field: 'body.config.limits.users', message: 'too big' }, { field: 'body.plan', message: 'x' }]), { 'limits.users': 'too big' });
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
