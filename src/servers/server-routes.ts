import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DatabaseServer } from '../catalog/catalog-client.js';
import { defaultServerName, type Platform } from '../platform/platform.js';
import { headroom, effectiveState, type ServerLoad, serverLoads } from './server-capacity.js';
import { drainServer, drainStatus } from './server-drain.js';
import {
  findServer,
  type RegistryDeps,
  registerServer,
  removeServer,
  serverAdd,
  serverName,
  serverPatch,
  serverStates,
  setServerState,
  updateServer,
} from './server-registry.js';

const cap = z.number().int().nullable();
const serverOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  host: z.string(),
  port: z.number().int(),
  runtimeHost: z.string().nullable(),
  runtimePort: z.number().int().nullable(),
  tenantsDatabase: z.string(),
  ownerRole: z.string(),
  ownerSecretRef: z.string(),
  runtimeRole: z.string(),
  runtimeSecretRef: z.string(),
  maxConnections: z.number().int(),
  /** `down` while health says so, else the operator's state. */
  state: z.enum([...serverStates, 'down']),
  operatorState: z.enum(serverStates),
  /** Caps are not checked. */
  acceptsNewTenants: z.boolean(),
  weight: z.number().int(),
  maxPooledTenants: cap,
  maxSchemaTenants: cap,
  maxDedicatedTenants: cap,
  maxStorageBytes: cap,
  health: z.object({ up: z.boolean(), downSince: z.string().nullable(), error: z.string().nullable(), checkedAt: z.string().nullable(), storageBytes: cap }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const tierFigures = z.object({ pooled: z.number().int(), schema: z.number().int(), dedicated: z.number().int() });
const serverListing = serverOutput.extend({
  tenants: tierFigures,
  /** null: no cap. */
  headroom: z.object({ pooled: cap, schema: cap, dedicated: cap }),
});
const serverParams = z.object({ name: serverName });
const stateBody = z.object({ state: z.enum(serverStates) }).strict();
const drainBody = z
  .object({ concurrency: z.number().int().min(1).max(16).default(2) })
  .strict()
  .default({ concurrency: 2 });
const drainView = z.object({
  server: z.string(),
  state: z.enum(serverStates),
  remaining: tierFigures,
  /** Unfinished moves off it, cleanups included. */
  moving: z.number().int(),
  blocked: z.array(z.object({ slug: z.string(), reason: z.string() })),
  /** On this instance. */
  running: z.boolean(),
  lastRun: z
    .object({ moved: z.number().int(), failed: z.number().int(), remaining: z.number().int().nullable(), ms: z.number().int(), error: z.string().nullable() })
    .nullable(),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;
const num = (n: bigint | null) => (n === null ? null : Number(n));

export const toServerOutput = (server: DatabaseServer): z.infer<typeof serverOutput> => {
  const { state, downSince, healthError, healthCheckedAt, storageBytes, maxStorageBytes, ...rest } = server;
  return {
    ...rest,
    state: effectiveState(server),
    operatorState: state,
    acceptsNewTenants: effectiveState(server) === 'active',
    maxStorageBytes: num(maxStorageBytes),
    health: { up: !downSince, downSince: iso(downSince), error: healthError, checkedAt: iso(healthCheckedAt), storageBytes: num(storageBytes) },
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
  };
};

const toListing = (load: ServerLoad) => ({
  ...toServerOutput(load.server),
  tenants: load.tenants,
  headroom: { pooled: headroom(load, 'pooled'), schema: headroom(load, 'schema'), dedicated: headroom(load, 'dedicated') },
});

export function registryDeps(platform: Pick<Platform, 'catalog' | 'servers' | 'defaultServer' | 'provisioning'>): RegistryDeps {
  const { catalog, servers, defaultServer, provisioning } = platform;
  const { tenantsDatabase, ownerRole, ownerSecretRef, runtimeRole, runtimeSecretRef } = defaultServer;
  return {
    catalog,
    servers,
    tenantMigrations: provisioning.tenantMigrations,
    tenantBaseline: provisioning.tenantBaseline,
    spares: provisioning.spares,
    defaults: { tenantsDatabase, ownerRole, ownerSecretRef, runtimeRole, runtimeSecretRef },
  };
}

export const serverRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onReady', async () => app.platform.serverHealth.start());
  app.addHook('onClose', async () => app.platform.serverHealth.close());
  const deps = registryDeps(app.platform);
  const one = { schema: { params: serverParams, response: { 200: serverOutput } } };

  app.get('/admin/servers', { schema: { response: { 200: z.object({ items: z.array(serverListing) }) } } }, async () => ({
    items: (await serverLoads(deps.catalog)).map(toListing),
  }));

  app.post('/admin/servers', { schema: { body: serverAdd, response: { 201: serverOutput } } }, async (request, reply) => {
    const server = await registerServer(deps, request.admin.id, request.body);
    return reply.status(201).header('location', `/admin/servers/${server.name}`).send(toServerOutput(server));
  });

  app.patch('/admin/servers/:name', { schema: { params: serverParams, body: serverPatch, response: { 200: serverOutput } } }, async (request) =>
    toServerOutput(await updateServer(deps, request.admin.id, request.params.name, request.body)),
  );

  app.put('/admin/servers/:name/state', { schema: { params: serverParams, body: stateBody, response: { 200: serverOutput } } }, async (request) =>
    toServerOutput(await setServerState(deps, request.admin.id, request.params.name, request.body.state)),
  );

  app.post('/admin/servers/:name/cordon', one, async (request) =>
    toServerOutput(await setServerState(deps, request.admin.id, request.params.name, 'cordoned')),
  );

  app.post('/admin/servers/:name/uncordon', one, async (request) =>
    toServerOutput(await setServerState(deps, request.admin.id, request.params.name, 'active')),
  );

  // Drains run in the background here; any instance can resume their move jobs.
  const drains = new Map<string, { abort: AbortController; running: boolean; done: Promise<void>; lastRun: z.infer<typeof drainView>['lastRun'] }>();
  app.addHook('onClose', async () => {
    for (const drain of drains.values()) drain.abort.abort(new Error('the process is shutting down'));
    await Promise.all([...drains.values()].map((d) => d.done));
  });
  const drainAnswer = async (name: string) => {
    const drain = drains.get(name);
    return { ...(await drainStatus(app.platform, name)), running: !!drain?.running, lastRun: drain?.lastRun ?? null };
  };

  app.post('/admin/servers/:name/drain', { schema: { params: serverParams, body: drainBody, response: { 202: drainView } } }, async (request, reply) => {
    const { name } = request.params;
    await findServer(deps.catalog, name);
    if (!drains.get(name)?.running) {
      const abort = new AbortController();
      const entry = { abort, running: true, lastRun: drains.get(name)?.lastRun ?? null, done: Promise.resolve() };
      drains.set(name, entry);
      // Set before answering, so the answer and placement already see it draining.
      await setServerState(deps, request.admin.id, name, 'draining');
      entry.done = drainServer(app.platform, name, { concurrency: request.body.concurrency, actor: request.admin.id, signal: abort.signal })
        .then((report) => {
          entry.lastRun = { moved: report.moved, failed: report.failed.length, remaining: report.remaining, ms: report.ms, error: null };
        })
        .catch((err: unknown) => {
          app.log.error({ err, server: name }, 'drain stopped');
          entry.lastRun = { moved: 0, failed: 0, remaining: null, ms: 0, error: (err as Error).message };
        })
        .finally(() => (entry.running = false));
    }
    return reply
      .status(202)
      .header('location', `/admin/servers/${name}/drain`)
      .send(await drainAnswer(name));
  });

  app.get('/admin/servers/:name/drain', { schema: { params: serverParams, response: { 200: drainView } } }, async (request) =>
    drainAnswer(request.params.name),
  );

  app.delete('/admin/servers/:name', { schema: { params: serverParams, response: { 204: z.null() } } }, async (request, reply) => {
    await removeServer(deps, request.admin.id, request.params.name, defaultServerName);
    return reply.status(204).send(null);
  });
};
