import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { docsPrefix } from '../../src/docs/docs-plugin.js';
import { startTestPlatform, testApp } from '../helper.js';
import { routeListing } from '../support/route-listing.js';

const platform = await startTestPlatform(t);
const app = await testApp(t, platform);

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}
type Document = {
  openapi: string;
  info: { title: string; version: string };
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<string, Partial<Record<(typeof methods)[number], Operation>>>;
};

const docRes = await app.inject({ method: 'GET', url: `${docsPrefix}/json` });
const doc: Document = docRes.json();
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  methods.flatMap((method) => (item[method] ? [{ method: method.toUpperCase(), path, op: item[method]! }] : [])),
);

t.test('/docs/json is a valid OpenAPI 3 document', async (t) => {
  t.equal(docRes.statusCode, 200, 'every route schema converted');
  t.match(docRes.headers['content-type'], /^application\/json/);
  t.match(doc.openapi, /^3\.\d+\.\d+$/);
  const validator = new Validator();
  const result = await validator.validate(doc as unknown as Record<string, unknown>);
  t.ok(result.valid, 'valid against the OpenAPI schema');
  if (!result.valid) t.comment(JSON.stringify(result.errors, null, 2).slice(0, 4000));
  t.same(doc.info.title, packageJson.name, 'title from package.json');
  t.same(doc.info.version, packageJson.version, 'version from package.json');
  t.match(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
  const yaml = await app.inject({ method: 'GET', url: `${docsPrefix}/yaml` });
  t.equal(yaml.statusCode, 200);
  t.match(yaml.payload, /^openapi: /m);
});

t.test('every route is documented, and nothing else', async (t) => {
  const registered = [...routeListing(app).keys()];
  t.ok(registered.includes('GET /leads') && registered.includes('DELETE /leads/:id'), 'the route listing is read (sanity)');
  t.ok(
    registered.some((route) => route.startsWith(`GET ${docsPrefix}/`)),
    'the docs routes are listed too (and excluded below)',
  );
  const expected = registered
    // HEAD routes are the ones Fastify adds for each GET; the docs' own routes are hidden by design.
    .filter((route) => !route.startsWith('HEAD ') && !route.split(' ')[1]!.startsWith(docsPrefix))
    .map((route) => route.replace(/:(\w+)/g, '{$1}'));
  const documented = operations.map(({ method, path }) => `${method} ${path}`);
  t.same(documented.toSorted(), [...new Set(expected)].toSorted());
  t.ok(documented.length >= 12, `${documented.length} operations`);
});

t.test('each operation has its feature tag, its security and its problem responses', async (t) => {
  const tagOf = (method: string, path: string) => operations.find((o) => o.method === method && o.path === path)?.op.tags;
  t.same(tagOf('GET', '/leads/{id}'), ['leads']);
  t.same(tagOf('GET', '/healthz'), ['health']);
  t.same(tagOf('GET', '/readyz'), ['health']);
  for (const { method, path, op } of operations) {
    const name = `${method} ${path}`;
    t.equal(op.tags?.length, 1, `${name}: one tag`);
    const secured = op.security?.some((requirement) => 'bearerAuth' in requirement) ?? false;
    t.equal('401' in op.responses, secured, `${name}: documents 401 exactly when it needs a token`);
    t.ok(op.responses['429']?.headers?.['retry-after'], `${name}: documents 429 with Retry-After`);
    t.ok(op.responses['429']?.content?.['application/problem+json'], `${name}: 429 is problem+json`);
    t.ok(op.responses.default?.content?.['application/problem+json'], `${name}: errors are problem+json`);
  }
  t.ok(
    operations.filter((o) => o.path.startsWith('/leads')).every((o) => o.op.security?.length),
    'lead routes need a token',
  );
});

t.test('the documented security is what each route does without a token', async (t) => {
  for (const { method, path, op } of operations) {
    const url = path.replace(/\{[^}]+\}/g, randomUUID());
    const res = await app.inject({ method: method as 'GET', url, ...(op.requestBody ? { payload: {} } : {}) });
    const secured = op.security?.some((requirement) => 'bearerAuth' in requirement) ?? false;
    if (secured) t.equal(res.statusCode, 401, `${method} ${path}: refused without a token`);
    else t.not(res.statusCode, 401, `${method} ${path}: served (or refused for other reasons) without a token`);
  }
});

t.test('/docs serves Swagger UI from the package: every asset it loads is ours', async (t) => {
  const page = await app.inject({ method: 'GET', url: docsPrefix });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.payload, /<div id="swagger-ui">/);
  const assets = [...page.payload.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.ok(
    assets.some((a) => a.endsWith('swagger-ui-bundle.js')),
    'loads the bundle',
  );
  t.ok(
    assets.some((a) => a.endsWith('swagger-ui.css')),
    'loads the styles',
  );
  for (const asset of assets) {
    t.ok(asset.startsWith(`${docsPrefix}/`), `${asset} is served here, not fetched from elsewhere`);
    const res = await app.inject({ method: 'GET', url: asset });
    t.equal(res.statusCode, 200, `${asset} loads`);
    t.ok(res.rawPayload.length > 0, `${asset} is not empty`);
  }
  const initializer = await app.inject({ method: 'GET', url: `${docsPrefix}/static/swagger-initializer.js` });
  t.match(initializer.payload, /resolveUrl\('\.\/json'\)/, 'the UI reads the document served at /docs/json');
});
