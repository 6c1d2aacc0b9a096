/**
 * A record type's routes, each behind its permission. A versioned record sends its version as ETag
 * and takes If-Match on patch and delete (409 when stale).
 */
import type { FastifyRequest, FastifyTypeProviderDefault } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../audit/tenant-audit.js';
import { type Action, type RecordScope, recordScope } from '../auth/permissions.js';
import { assertMayAssign, requirePermission } from '../auth/tenant-auth.js';
import { expectedVersion, ifMatchHeaders } from '../http/if-match.js';
import { pageOf } from '../http/schema-parts.js';
import type { Feature } from '../plans/plan-limits.js';
import type { TenantClient } from '../router/tenant-router.js';
import { requireFeature } from '../settings/require-feature.js';
import type { RecordWriter } from './record-store.js';

type App = Parameters<FastifyPluginAsyncZod>[0];
type Row = { id: string; version?: number };

export const recordParams = z.object({ id: z.uuid() });
type ById = { Params: z.infer<typeof recordParams> };

// The zod type provider cannot type a schema given by a type parameter; handlers cast.
const untyped = (app: App) => app.withTypeProvider<FastifyTypeProviderDefault>();

export interface RecordReads<R extends Row, Query, Output> {
  path: `/${string}`;
  permissions: { read: Action };
  versioned: boolean;
  listQuery: z.ZodType<Query>;
  output: z.ZodType<Output>;
  toOutput: (row: R) => Output;
  // Plain arguments: reads are the hot path.
  list: (db: TenantClient, scope: RecordScope, query: Query) => Promise<{ items: R[]; nextCursor: string | null }>;
  get: (db: TenantClient, scope: RecordScope, id: string) => Promise<R>;
}

export interface RecordFeature<R extends Row, Query, Input, Patch, Output> extends RecordReads<R, Query, Output> {
  /** Absent: always on. */
  feature?: Feature;
  permissions: { read: Action; write: Action; delete: Action };
  input: z.ZodType<Input>;
  patch: z.ZodType<Patch>;
  /** Owner, assignee: giving the record to anyone but the caller needs crm.assign. */
  assignees?: (body: Input | Patch) => (string | null | undefined)[];
  create: (w: RecordWriter, input: Input, request: FastifyRequest) => Promise<R>;
  update: (w: RecordWriter, id: string, patch: Patch, expectedVersion?: number) => Promise<R>;
  remove: (w: RecordWriter, id: string, expectedVersion?: number) => Promise<void>;
}

const etag = (row: Row) => `"${row.version}"`;

const writerOf = (request: FastifyRequest): RecordWriter => ({
  db: request.db,
  scope: recordScope(request.claims),
  actor: actorOf(request.claims),
  callerId: request.claims.sub,
});

export function addRecordReads<R extends Row, Query, Output>(app: App, spec: RecordReads<R, Query, Output>): void {
  const { path, versioned, toOutput, list, get } = spec;
  const read = requirePermission(spec.permissions.read);
  const routes = untyped(app);

  routes.get(path, { preHandler: read, schema: { querystring: spec.listQuery, response: { 200: pageOf(spec.output) } } }, async (request) => {
    const page = await list(request.db, recordScope(request.claims), request.query as Query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  routes.get<ById>(`${path}/:id`, { preHandler: read, schema: { params: recordParams, response: { 200: spec.output } } }, async (request, reply) => {
    const row = await get(request.db, recordScope(request.claims), request.params.id);
    if (versioned) reply.header('etag', etag(row));
    return reply.send(toOutput(row));
  });
}

export function recordRoutes<R extends Row, Query, Input, Patch, Output>(spec: RecordFeature<R, Query, Input, Patch, Output>): FastifyPluginAsyncZod {
  const { path, versioned, toOutput, assignees } = spec;
  const ifMatch = versioned ? { headers: ifMatchHeaders } : {};
  const versionOf = (request: FastifyRequest) => (versioned ? expectedVersion(request.headers['if-match']) : undefined);

  return async (app) => {
    if (spec.feature) app.addHook('onRequest', requireFeature(spec.feature));
    addRecordReads(app, spec);
    const routes = untyped(app);
    const write = requirePermission(spec.permissions.write);

    routes.post(path, { preHandler: write, schema: { body: spec.input, response: { 201: spec.output } } }, async (request, reply) => {
      const input = request.body as Input;
      if (assignees) await assertMayAssign(request, ...assignees(input));
      const row = await spec.create(writerOf(request), input, request);
      if (versioned) reply.header('etag', etag(row));
      return reply.status(201).header('location', `${path}/${row.id}`).send(toOutput(row));
    });

    routes.patch<ById>(
      `${path}/:id`,
      { preHandler: write, schema: { params: recordParams, ...ifMatch, body: spec.patch, response: { 200: spec.output } } },
      async (request, reply) => {
        const version = versionOf(request);
        const patch = request.body as Patch;
        if (assignees) await assertMayAssign(request, ...assignees(patch));
        const row = await spec.update(writerOf(request), request.params.id, patch, version);
        if (versioned) reply.header('etag', etag(row));
        return reply.send(toOutput(row));
      },
    );

    routes.delete<ById>(
      `${path}/:id`,
      { preHandler: requirePermission(spec.permissions.delete), schema: { params: recordParams, ...ifMatch, response: { 204: z.null() } } },
      async (request, reply) => {
        await spec.remove(writerOf(request), request.params.id, versionOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
