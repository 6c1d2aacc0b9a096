/**
 * API8 Security misconfiguration: the security headers on every kind of answer (success, refusal,
 * not found, docs), no CORS grant to a foreign origin, TRACE/TRACK/OPTIONS answered without echoing
 * anything, no framework or version banners, and malformed input answered as a problem without
 * stack traces, SQL or internal paths (the checks every answer of the run also passes).
 */
import type { AttackContext, Sent } from './attack-context.js';
import type { Fixtures } from './fixtures.js';

const evil = 'https://evil.example';

function headerProblems(sent: Sent, api: boolean): string | undefined {
  const h = sent.headers;
  const problems = [
    h['x-content-type-options'] !== 'nosniff' && 'nosniff missing',
    h['x-frame-options'] !== 'DENY' && 'X-Frame-Options is not DENY',
    !String(h['content-security-policy'] ?? '').includes("frame-ancestors 'none'") && "no frame-ancestors 'none'",
    api && h['cache-control'] !== 'no-store' && `Cache-Control is ${h['cache-control']}`,
    h['x-powered-by'] !== undefined && `X-Powered-By: ${h['x-powered-by']}`,
    h.server !== undefined && `Server: ${h.server}`,
    h['access-control-allow-origin'] !== undefined && `Access-Control-Allow-Origin: ${h['access-control-allow-origin']}`,
  ].filter(Boolean);
  return problems.length ? problems.join('; ') : undefined;
}

async function headers(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  const token = f.users.owner.token;
  const answers: [string, Sent, number, boolean][] = [
    ['a health probe', await ctx.send('GET', '/healthz'), 200, true],
    ['a tenant read', await ctx.send('GET', '/leads', { token, as: `owner of ${f.label}` }), 200, true],
    ['a login', await ctx.send('POST', '/auth/login', { body: { email: f.users.staff.email, password: f.users.staff.password, tenant: f.slug } }), 200, true],
    ['an admin read', await ctx.send('GET', '/admin/tenants', { token: fx.adminToken, as: 'platform admin' }), 200, true],
    ['a refused token', await ctx.send('GET', '/me', { token: 'nope' }), 401, true],
    ['an unknown route', await ctx.send('GET', '/nothing-here'), 404, true],
    ['a malformed URL', await ctx.send('GET', '/leads/%E0%A4%A'), 400, true],
    ['a validation error', await ctx.send('GET', '/leads?limit=x', { token, as: `owner of ${f.label}` }), 400, true],
    ['a docs asset', await ctx.send('GET', '/docs/static/swagger-ui.css'), 200, false],
    ['the docs entry', await ctx.send('GET', '/docs'), 200, true],
    ['the OpenAPI document', await ctx.send('GET', '/docs/json'), 200, true],
  ];
  for (const [what, sent, status, api] of answers) ctx.expect(`security headers on ${what}`, sent, status, (s) => headerProblems(s, api));
  // An archive holds password hashes by design (admin only): its headers are checked, not its body.
  const archive = await ctx.send('GET', `/admin/tenants/${fx.beta.pooled.id}/export`, { token: fx.adminToken, as: 'platform admin' });
  const problems = archive.status === 200 ? headerProblems(archive, true) : `status ${archive.status}`;
  ctx.record('security headers on an export archive', archive.request, '200, no-store, nosniff, no framing', problems ?? '200', !problems);
}

async function cors(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.schema;
  const token = f.users.owner.token;
  const preflight = { origin: evil, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' };
  for (const path of ['/leads', `/leads/${f.records.lead}`, '/auth/login', '/admin/tenants']) {
    ctx.expect(`a CORS preflight from a foreign origin on ${path}`, await ctx.send('OPTIONS', path, { headers: preflight }), [204, 400, 404, 405], (s) =>
      s.headers['access-control-allow-origin'] || s.headers['access-control-allow-credentials'] ? 'CORS granted' : undefined,
    );
  }
  ctx.expect('a cross-origin read with credentials', await ctx.send('GET', '/me', { token, as: `owner of ${f.label}`, headers: { origin: evil } }), 200, (s) =>
    s.headers['access-control-allow-origin'] ? `Access-Control-Allow-Origin: ${s.headers['access-control-allow-origin']}` : undefined,
  );
  ctx.expect('a null origin', await ctx.send('GET', '/me', { token, as: `owner of ${f.label}`, headers: { origin: 'null' } }), 200, (s) =>
    s.headers['access-control-allow-origin'] ? 'CORS granted to null' : undefined,
  );
}

async function methods(ctx: AttackContext, fx: Fixtures) {
  const token = fx.alpha.pooled.users.owner.token;
  for (const method of ['TRACE', 'TRACK']) {
    for (const path of ['/', '/leads', '/healthz']) {
      ctx.expect(`${method} ${path}`, await ctx.send(method, path, { token, headers: { 'x-probe': 'echo-me-4b1d' } }), [400, 404, 405, 501], (s) =>
        s.text.includes('echo-me-4b1d') || s.text.includes('Bearer') ? 'the request echoed' : undefined,
      );
    }
  }
  ctx.expect('OPTIONS * ', await ctx.send('OPTIONS', '*'), [400, 404, 405]);
  ctx.expect('CONNECT', await ctx.send('CONNECT', '127.0.0.1:22'), [0, 400, 404, 405]);
}

async function errorDetail(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.dedicated;
  const token = f.users.owner.token;
  const as = `owner of ${f.label}`;
  const cases: [string, string, string, Parameters<AttackContext['send']>[2], number[]][] = [
    ['malformed JSON', 'POST', '/leads', { token, as, raw: '{"name": "x",' }, [400]],
    ['JSON with a BOM and garbage', 'POST', '/leads', { token, as, raw: '\ufeff{name:x}' }, [400]],
    ['an empty JSON body', 'POST', '/leads', { token, as, raw: '' }, [400]],
    ['a text/plain body', 'POST', '/leads', { token, as, raw: 'name=x', type: 'text/plain' }, [400, 415]],
    [
      'an XML body',
      'POST',
      '/leads',
      { token, as, raw: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><lead>&e;</lead>', type: 'application/xml' },
      [415],
    ],
    ['a form body', 'POST', '/auth/login', { raw: 'email=a%40b.example&password=x', type: 'application/x-www-form-urlencoded' }, [415]],
    ['a charset the parser does not know', 'POST', '/leads', { token, as, raw: '{"name":"x"}', type: 'application/json; charset=utf-7' }, [201, 400, 415]],
    ['SQL in a filter', 'GET', "/leads?status=new'%20OR%201=1--", { token, as }, [400]],
    ['SQL in a path id', 'GET', "/leads/1'%20OR%20'1'='1", { token, as }, [400]],
    ['SQL in a cursor', 'GET', `/leads?cursor=${encodeURIComponent("') OR 1=1; --")}`, { token, as }, [400]],
    [
      'SQL in an admin search',
      'GET',
      `/admin/tenants?search=${encodeURIComponent("x' OR '1'='1'; DROP TABLE tenants; --")}`,
      { token: fx.adminToken, as: 'platform admin' },
      [200],
    ],
    ['a NUL in a path', 'GET', '/leads/%00', { token, as }, [400, 404]],
    ['an invalid percent-encoding', 'GET', '/leads?status=%ZZ', { token, as }, [400]],
    ['a lone surrogate', 'POST', '/leads', { token, as, raw: '{"name":"\\ud800"}' }, [400]],
    ['a debug flag', 'GET', '/leads?debug=true&verbose=1', { token, as }, [400]],
    ['a metrics scrape without a token', 'GET', '/metrics', {}, [401]],
  ];
  for (const [what, method, path, options, statuses] of cases) ctx.expect(what, await ctx.send(method, path, options), statuses);
  const stored = await ctx.send('POST', '/leads', {
    token,
    as,
    body: { name: "Robert'); DROP TABLE leads;--", company: '${7*7} {{7*7}} <script>alert(1)</script>' },
  });
  ctx.expect('SQL and template text is stored as text', stored, 201, (s) =>
    s.body?.name === "Robert'); DROP TABLE leads;--" && s.body?.company?.startsWith('${7*7}') ? undefined : 'stored otherwise',
  );
  ctx.expect('the leads are still there', await ctx.send('GET', '/leads', { token, as }), 200, (s) =>
    s.body?.items?.length >= 3 ? undefined : 'leads missing',
  );
}

export async function misconfiguration(ctx: AttackContext, fx: Fixtures) {
  await headers(ctx, fx);
  await cors(ctx, fx);
  await methods(ctx, fx);
  await errorDetail(ctx, fx);
}
