/**
 * Regression: a NUL or a lone UTF-16 surrogate in a text field answered 500 (leads, deals,
 * activities, users, tenant config, suspension reason, owner name, …). Every route of the app is
 * enumerated from its OpenAPI document; each string field of each body and query gets a NUL, a
 * lone surrogate (raw JSON text "\ud800"), a huge value and a wrong type, and must answer a 4xx
 * problem naming that field, never a 5xx, with nothing written.
 */
import pg from 'pg';
import t, { type Test } from 'tap';
import { adminUrl, startTestPlatform, testApp } from '../helper.js';
import { adminLogin, frontDoor, type Answer } from '../support/front-door.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);

// A tenant with one record of each kind, reached as its owner, to give every route valid ids.
const created = await call('POST', '/admin/tenants', {
  token: admin,
  body: { slug: 'target', name: 'Target', plan: 'business', tier: 'pooled', owner: { email: 'owner@target.example', name: 'Owner' } },
});
const tenantId = created.json.tenant.id as string;
const session = (await call('POST', '/auth/login', { body: { email: 'owner@target.example', password: created.json.owner.password } })).json;
const owner = session.accessToken as string;
const made = async (path: string, body: object) => {
  const res = await call('POST', path, { token: owner, body });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.id as string;
};
const leadId = await made('/leads', { name: 'Lead' });
const dealId = await made('/deals', { title: 'Deal', amount: '10.00', currency: 'EUR', leadId });
const activityId = await made('/activities', { kind: 'note', body: 'Note', leadId });
const userId = await made('/users', { email: 'staff@target.example', name: 'Staff', role: 'staff' });

interface Sample {
  /** The concrete URL (params filled in). */
  path: string;
  /** A valid body, one field of which is replaced at a time. */
  body?: Record<string, unknown>;
  token?: string;
}

/** One valid request per operation that takes a JSON body or a query; an operation missing here fails the test. */
const samples: Record<string, Sample> = {
  'POST /auth/login': { path: '/auth/login', body: { email: 'owner@target.example', password: 'not the password', tenant: 'target' } },
  'POST /auth/refresh': { path: '/auth/refresh', body: { refreshToken: 'x'.repeat(40) } },
  'POST /auth/logout': { path: '/auth/logout', body: { refreshToken: 'x'.repeat(40) }, token: owner },
  'POST /admin/auth/login': { path: '/admin/auth/login', body: { email: 'admin@strata.local', password: 'not the password' } },
  'POST /me/password': { path: '/me/password', body: { currentPassword: 'not the password', newPassword: 'another long password' }, token: owner },
  'GET /users': { path: '/users', token: owner },
  'POST /users': { path: '/users', body: { email: 'new@target.example', name: 'New', role: 'staff', password: 'correct horse battery' }, token: owner },
  'PATCH /users/{id}': { path: `/users/${userId}`, body: { name: 'Renamed', password: 'correct horse battery' }, token: owner },
  'GET /leads': { path: '/leads', token: owner },
  'POST /leads': { path: '/leads', body: { name: 'L', company: 'C', email: 'l@x.example', phone: '1', source: 'web', status: 'new' }, token: owner },
  'PATCH /leads/{id}': { path: `/leads/${leadId}`, body: { name: 'L', company: 'C', email: 'l@x.example', phone: '1', source: 'web' }, token: owner },
  'GET /deals': { path: '/deals', token: owner },
  'POST /deals': { path: '/deals', body: { title: 'D', amount: '1.00', currency: 'EUR', stage: 'prospecting', leadId }, token: owner },
  'PATCH /deals/{id}': { path: `/deals/${dealId}`, body: { title: 'D', amount: '1.00', currency: 'EUR' }, token: owner },
  'GET /activities': { path: '/activities', token: owner },
  'POST /activities': { path: '/activities', body: { kind: 'note', body: 'B', leadId, occurredAt: '2026-01-01T00:00:00Z' }, token: owner },
  'PATCH /activities/{id}': { path: `/activities/${activityId}`, body: { kind: 'call', body: 'B', occurredAt: '2026-01-01T00:00:00Z' }, token: owner },
  'GET /audit': { path: '/audit', token: owner },
  'GET /admin/audit': { path: '/admin/audit', token: admin },
  'GET /admin/tenants': { path: '/admin/tenants', token: admin },
  'GET /admin/reports/tenants': { path: '/admin/reports/tenants', token: admin },
  'GET /admin/tenants/{id}/usage': { path: `/admin/tenants/${tenantId}/usage`, token: admin },
  'GET /admin/usage/top': { path: '/admin/usage/top', token: admin },
  'GET /admin/usage/fleet': { path: '/admin/usage/fleet', token: admin },
  'GET /admin/recommendations': { path: '/admin/recommendations', token: admin },
  'POST /admin/servers': {
    path: '/admin/servers',
    token: admin,
    body: {
      name: 'never-added',
      host: '127.0.0.1',
      port: 1,
      runtimeHost: '127.0.0.1',
      tenantsDatabase: 'never_db',
      ownerRole: 'never_owner',
      ownerSecretRef: 'env:NEVER_SET',
      runtimeRole: 'never_app',
      runtimeSecretRef: 'env:NEVER_SET',
      bootstrap: { user: 'postgres', secretRef: 'env:NEVER_SET', database: 'postgres' },
    },
  },
  'POST /admin/servers/{name}/drain': { path: '/admin/servers/no-such-server/drain', token: admin, body: { concurrency: 2 } },
  'POST /admin/rebalance': { path: '/admin/rebalance', token: admin, body: { by: 'dbTime', window: '1h', dryRun: true } },
  'PUT /admin/servers/{name}/state': { path: '/admin/servers/no-such-server/state', token: admin, body: { state: 'active' } },
  'PATCH /admin/servers/{name}': {
    path: '/admin/servers/no-such-server',
    token: admin,
    body: { host: '127.0.0.1', runtimeHost: '127.0.0.1', ownerSecretRef: 'env:NEVER_SET', runtimeSecretRef: 'env:NEVER_SET' },
  },
  'POST /admin/tenants': {
    path: '/admin/tenants',
    token: admin,
    body: {
      slug: 'never-made',
      name: 'N',
      plan: 'free',
      tier: 'pooled',
      server: 'default',
      owner: { email: 'o@never.example', name: 'O' },
      config: {
        branding: { displayName: 'N', primaryColor: '#112233', accentColor: '#112233', logoUrl: 'https://n.example/l.png', customDomain: 'crm.n.example' },
      },
    },
  },
  'PATCH /admin/tenants/{id}': {
    path: `/admin/tenants/${tenantId}`,
    token: admin,
    body: {
      name: 'T',
      plan: 'free',
      config: {
        branding: { displayName: 'N', primaryColor: '#112233', accentColor: '#112233', logoUrl: 'https://n.example/l.png', customDomain: 'crm.n.example' },
      },
    },
  },
  'POST /admin/tenants/{id}/suspend': { path: `/admin/tenants/${tenantId}/suspend`, body: { reason: 'R' }, token: admin },
  'GET /admin/tenants/{id}/audit': { path: `/admin/tenants/${tenantId}/audit`, token: admin },
  'POST /admin/tenants/{id}/moves': { path: `/admin/tenants/${tenantId}/moves`, body: { targetTier: 'schema', targetServer: 'default' }, token: admin },
  'GET /admin/tenants/{id}/moves': { path: `/admin/tenants/${tenantId}/moves`, token: admin },
  'GET /admin/tenants/{id}/export': { path: `/admin/tenants/${tenantId}/export`, token: admin },
  'GET /admin/migrations': { path: '/admin/migrations', token: admin },
};

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; $ref?: string };
const doc = (await call('GET', '/docs/json')).json as {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> }; parameters?: { in: string; name: string; schema: JsonSchema }[] }>
  >;
  components?: { schemas?: Record<string, JsonSchema> };
};
const resolve = (s: JsonSchema): JsonSchema => (s.$ref ? resolve(doc.components!.schemas![s.$ref.split('/').at(-1)!]!) : s);
const branches = (s: JsonSchema): JsonSchema[] => [s, ...(s.anyOf ?? []), ...(s.oneOf ?? [])].map(resolve);
const isString = (s: JsonSchema) => branches(s).some((b) => b.type === 'string' || (Array.isArray(b.type) && b.type.includes('string')));

/** Paths of every string member of a body schema, nested objects included. */
function stringFields(schema: JsonSchema, prefix: string[] = []): string[][] {
  return branches(schema)
    .flatMap((branch) =>
      Object.entries(branch.properties ?? {}).flatMap(([name, member]) => [
        ...(isString(member) ? [[...prefix, name]] : []),
        ...stringFields(member, [...prefix, name]),
      ]),
    )
    .filter((path, i, all) => all.findIndex((p) => p.join('.') === path.join('.')) === i);
}

function withField(body: Record<string, unknown>, path: string[], value: unknown) {
  const copy = structuredClone(body);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

const operations = Object.entries(doc.paths)
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const json = op.requestBody?.content['application/json']?.schema;
      return {
        key: `${method.toUpperCase()} ${path}`,
        bodyFields: json ? stringFields(resolve(json)) : [],
        queryFields: (op.parameters ?? []).filter((p) => p.in === 'query' && isString(p.schema)).map((p) => p.name),
      };
    }),
  )
  .filter((op) => op.bodyFields.length + op.queryFields.length > 0);

/** Row counts of everything a request could write: the catalog, and the tenants database (all pooled tenants). */
async function counts() {
  const url = new URL(adminUrl());
  const result: Record<string, number> = {};
  for (const [database, tables] of [
    ['catalog', ['tenants', 'login_routes', 'admin_audit_events', 'admin_accounts', 'tenant_moves']],
    ['tenants', ['users', 'leads', 'deals', 'activities', 'audit_events', 'refresh_tokens']],
  ] as const) {
    url.pathname = `/${platform.config.database.prefix}_${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    for (const table of tables) result[`${database}.${table}`] = (await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    await client.end();
  }
  return result;
}

const checkRefused = (t: Test, res: Answer, field: string, what: string) => {
  t.ok(res.status >= 400 && res.status < 500, `${what}: 4xx (got ${res.status})`);
  t.match(res.contentType, /^application\/problem\+json/, `${what}: problem+json`);
  t.ok(
    res.json?.errors?.some((e: { field: string }) => e.field === field),
    `${what}: names ${field} (${JSON.stringify(res.json?.errors ?? res.json)})`,
  );
};

t.test('every operation taking text is covered by a sample', async (t) => {
  t.ok(operations.length >= 20, `${operations.length} operations take strings`);
  for (const op of operations) t.ok(samples[op.key], `${op.key} has a sample request`);
});

t.test('NUL, lone surrogates, huge values and wrong types: 4xx naming the field, nothing written', async (t) => {
  const before = await counts();
  for (const op of operations) {
    const sample = samples[op.key];
    if (!sample) continue;
    const [method] = op.key.split(' ');
    for (const field of op.bodyFields) {
      const name = `body.${field.join('.')}`;
      for (const [label, value] of [
        ['NUL', 'a\u0000b'],
        ['lone surrogate', 'a\ud800b'],
        ['huge', 'x'.repeat(100_000)],
        // Wrong for every field taking text, also those taking a number or a string (limits).
        ['wrong type', { not: 'text' }],
      ] as const) {
        // JSON.stringify writes a lone surrogate as the escape \ud800, so the raw body holds it as JSON text.
        const res = await call(method!, sample.path, { token: sample.token, raw: JSON.stringify(withField(sample.body ?? {}, field, value)) });
        checkRefused(t, res, name, `${op.key} ${name} ${label}`);
      }
    }
    for (const field of op.queryFields) {
      const name = `querystring.${field}`;
      for (const [label, query] of [
        ['NUL', `${field}=a%00b`],
        ['huge', `${field}=${'x'.repeat(10_000)}`],
        ['wrong type', `${field}=a&${field}=b`],
      ] as const) {
        checkRefused(t, await call(method!, `${sample.path}?${query}`, { token: sample.token }), name, `${op.key} ${name} ${label}`);
      }
      // A surrogate has no UTF-8 form: its CESU-8 bytes must not break anything either.
      const res = await call(method!, `${sample.path}?${field}=%ED%A0%80`, { token: sample.token });
      t.ok(res.status < 500, `${op.key} ${name} surrogate bytes: not a 5xx (${res.status})`);
    }
  }
  t.same(await counts(), before, 'nothing was written');
});
