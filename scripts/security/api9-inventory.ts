/**
 * API9 Improper inventory management: every operation of the OpenAPI document is served and
 * secured as documented, methods the document does not list are not routes, and nothing else is
 * served: debug, admin consoles, old versions, source files, configuration or paths escaping /docs.
 */
import type { AttackContext } from './attack-context.js';
import type { Fixtures } from './fixtures.js';
import { httpMethods, openapiOperations } from './openapi-operations.js';

const notARoute = (status: number) => (status === 404 || status === 405 ? undefined : `answered ${status}`);

/** Paths that are often left behind; none may be served. */
const leftovers = [
  '/debug',
  '/debug/pprof',
  '/debug/vars',
  '/env',
  '/.env',
  '/config',
  '/config.json',
  '/admin/config',
  '/admin/debug',
  '/admin/users',
  '/admin/accounts',
  '/admin/admins',
  '/actuator',
  '/actuator/env',
  '/server-status',
  '/status',
  '/info',
  '/version',
  '/graphql',
  '/graphiql',
  '/api',
  '/api/v1/leads',
  '/v1/leads',
  '/v2/leads',
  '/internal',
  '/_internal',
  '/test',
  '/routes',
  '/__routes',
  '/swagger.json',
  '/openapi.json',
  '/swagger-ui.html',
  '/.git/config',
  '/package.json',
  '/dist/server.js',
  '/src/app.ts',
  '/.strata/secrets/secrets.json',
  '/docs/static/../../package.json',
  '/docs/static/%2e%2e/%2e%2e/package.json',
  '/docs/static/..%2f..%2fpackage.json',
  '/docs/%2e%2e/.env',
  '/metrics/json',
  '/healthz/details',
  '/readyz/details',
  '/prisma',
  '/_next',
  '/phpinfo.php',
];

export async function inventory(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  const operations = await openapiOperations(ctx, { id: f.records.lead, jobId: f.id, name: 'default' });
  for (const op of operations) {
    const sent = await ctx.send(op.method, op.path, { body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {} });
    // A path parameter filled with a made-up value may name nothing: the route answers 404 for it, not the router.
    const open = op.template.includes('{') ? [200, 204, 400, 401, 404, 415] : [200, 204, 400, 401, 415];
    ctx.expect(`a documented operation ${op.method} ${op.template} is served as documented`, sent, op.secured ? [401] : open, (s) =>
      s.body?.code === 'STRATA_ROUTE_NOT_FOUND' ? 'not a route' : undefined,
    );
  }
  const paths = [...new Set(operations.map((o) => o.template))];
  for (const template of paths) {
    const documented = new Set(operations.filter((o) => o.template === template).map((o) => o.method));
    const path = operations.find((o) => o.template === template)!.path;
    for (const method of httpMethods.map((m) => m.toUpperCase()).filter((m) => !documented.has(m))) {
      const sent = await ctx.send(method, path, { token: f.users.owner.token, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      ctx.expect(`an undocumented method ${method} ${template}`, sent, [404, 405], (s) => notARoute(s.status));
    }
  }
  for (const path of leftovers) {
    ctx.expect(`a leftover path ${path}`, await ctx.send('GET', path, { token: f.users.owner.token, as: `owner of ${f.label}` }), [403, 404], (s) =>
      s.text.includes('"dependencies"') || s.text.includes('JWT_SECRET') ? 'file contents' : undefined,
    );
    ctx.expect(`a leftover path ${path} as admin`, await ctx.send('GET', path, { token: fx.adminToken, as: 'platform admin' }), [403, 404]);
  }
}
