/**
 * OpenAPI 3 at /docs/json (and /docs/yaml), Swagger UI at /docs. Register it before the routes:
 * @fastify/swagger documents only routes added after it.
 */
import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../http/problems.js';

const packageJson = z
  .object({ name: z.string(), version: z.string(), description: z.string().optional() })
  .parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));

export const docsPrefix = '/docs';
const openapiVersion = '3.0.3';
const bearerScheme = 'bearerAuth';

const problemCodes = Object.values(problems).map((problem) => problem.code) as [string, ...string[]];

/** What problemBody renders (RFC 9457); more members may follow. */
export const problemDocument = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  code: z.enum(problemCodes),
  detail: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

// `$schema` is not allowed inside an OpenAPI 3.0 schema object.
const { $schema: _dialect, ...problemJsonSchema }: Record<string, unknown> = z.toJSONSchema(problemDocument, { target: 'openapi-3.0' });

const problemResponse = (description: string, headers?: Record<string, { type: string; description: string }>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: problemJsonSchema } },
});

const rateLimitedResponse = problemResponse(
  'Too many requests for this tenant or user (or admin, or, without either, this client IP); on login, too many wrong passwords',
  {
    'retry-after': { type: 'integer', description: 'Seconds until the window resets' },
    'x-ratelimit-limit': { type: 'integer', description: 'Requests allowed per window' },
    'x-ratelimit-remaining': { type: 'integer', description: 'Requests left in the window' },
    'x-ratelimit-reset': { type: 'integer', description: 'Seconds until the window resets' },
  },
);

/** Routes taking no bearer token (or stating `schema.security`); pinned by test/docs/docs.test.ts. */
const publicRoutes = [/^\/healthz$/, /^\/readyz$/, /^\/auth\//, /^\/admin\/auth\/login$/, /^\/console(\/|$)/];

const tagAliases: Record<string, string> = { healthz: 'health', readyz: 'health', me: 'auth' };
function featureTag(url: string): string {
  const first = url.split('/')[1] || 'root';
  return tagAliases[first] ?? first;
}

const transform: typeof jsonSchemaTransform = (document) => {
  const { schema, url } = jsonSchemaTransform(document);
  if (schema?.hide) return { schema, url };
  const secured = !publicRoutes.some((pattern) => pattern.test(url));
  const own = schema ?? {};
  const responses = own.response as Record<string, unknown> | undefined;
  return {
    url,
    schema: {
      ...own,
      tags: own.tags ?? [featureTag(url)],
      security: own.security ?? (secured ? [{ [bearerScheme]: [] }] : []),
      response: {
        ...(secured ? { 401: problemResponse('No valid bearer token') } : {}),
        429: rateLimitedResponse,
        default: problemResponse('Any other error, as problem+json'),
        ...responses,
        // `type: 'null'` documents no content, where z.null() would read as "a JSON null".
        ...(responses?.[204] ? { 204: { type: 'null', description: 'No content' } } : {}),
      },
    },
  };
};

export const docsPlugin = fp(
  async (app) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: openapiVersion,
        info: { title: packageJson.name, version: packageJson.version, description: packageJson.description },
        components: {
          securitySchemes: {
            [bearerScheme]: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'An access token: a tenant user’s (POST /auth/login), or on /admin routes a platform admin’s (POST /admin/auth/login)',
            },
          },
        },
      },
      transform,
    });
    await app.register(fastifySwaggerUi, { routePrefix: docsPrefix });
  },
  { name: 'strata-docs' },
);
