/**
 * Registering database servers (docs/servers.md). Nothing is recorded unless the server answered
 * with the given settings; the catalog holds secret references only. Changes are audited (actor
 * null: a script) and announced, so every instance reconnects.
 */
import pg from 'pg';
import { z } from 'zod';
import { recordAdminAction } from '../admin/admin-audit.js';
import type { CatalogClient, DatabaseServer } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import { configKeys, resolveSecret } from '../config/config.js';
import { AppError, type FieldError, problems } from '../http/problems.js';
import { applyMigrations } from '../migrations/apply-migrations.js';
import type { Baseline } from '../migrations/baseline.js';
import type { MigrationFolder } from '../migrations/migration-files.js';
import type { SparePool } from '../tenants/spare-schemas.js';
import { bootstrapServer } from './bootstrap-server.js';
import { connectionConfig, type ServerRecord, withOwnerConnection } from './server-access.js';
import { serverLoads } from './server-capacity.js';

const host = z
  .string()
  .max(253)
  .regex(/^[A-Za-z0-9.:-]+$/, 'a host name or IP address');
const port = z.number().int().min(1).max(65535);
/** Interpolated into DDL: plain identifiers only. */
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _ (max 63)');
/**
 * The roles' passwords or a variable of this server's own, never another Strata setting (JWT_SECRET…):
 * a server may ask for its password in clear text, so a referenced variable goes to the host named.
 */
const referable = (name: string) => name === 'STRATA_OWNER_PASSWORD' || name === 'STRATA_RUNTIME_PASSWORD' || !configKeys.includes(name);
const secretRef = z
  .string()
  .regex(/^env:[A-Z_][A-Z0-9_]*$/, 'a reference like env:NAME (the secret itself is never accepted)')
  .refine(
    (ref) => referable(ref.slice(4)),
    'names one of Strata’s own settings: only STRATA_OWNER_PASSWORD, STRATA_RUNTIME_PASSWORD or a variable of this server’s own may be referenced',
  );

const cap = z.number().int().min(0).max(10_000_000).nullable().optional();
/** See server-capacity.ts; null: no cap. */
const capacityFields = {
  weight: z.number().int().min(1).max(1000).optional(),
  maxPooledTenants: cap,
  maxSchemaTenants: cap,
  maxDedicatedTenants: cap,
  maxStorageBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
};
export const serverStates = ['active', 'cordoned', 'draining'] as const;
export type ServerState = (typeof serverStates)[number];

export const serverName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'lowercase letters, digits and -, starting with a letter (max 40)');

export const serverAdd = z
  .object({
    name: serverName,
    host,
    port: port.default(5432),
    /** Where tenant traffic connects, e.g. PgBouncer. */
    runtimeHost: host.optional(),
    runtimePort: port.optional(),
    tenantsDatabase: identifier.optional(),
    ownerRole: identifier.optional(),
    ownerSecretRef: secretRef.optional(),
    runtimeRole: identifier.optional(),
    runtimeSecretRef: secretRef.optional(),
    maxConnections: z.number().int().min(1).max(10_000).default(20),
    state: z.enum(['active', 'cordoned']).default('active'),
    ...capacityFields,
    /** Used once to prepare the server; never recorded. */
    bootstrap: z.object({ user: z.string().min(1).max(63).default('postgres'), secretRef, database: z.string().min(1).max(63).default('postgres') }).strict(),
  })
  .strict();
export type ServerAddInput = z.input<typeof serverAdd>;

export const serverPatch = z
  .object({
    host: host.optional(),
    port: port.optional(),
    /** null: tenant traffic goes to host and port again. */
    runtimeHost: host.nullable().optional(),
    runtimePort: port.nullable().optional(),
    ownerSecretRef: secretRef.optional(),
    runtimeSecretRef: secretRef.optional(),
    maxConnections: z.number().int().min(1).max(10_000).optional(),
    state: z.enum(serverStates).optional(),
    ...capacityFields,
  })
  .strict()
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), 'name at least one setting to change');
export type ServerPatch = z.input<typeof serverPatch>;

export interface RegistryDeps {
  catalog: CatalogClient;
  servers: ServerDirectory;
  tenantMigrations: MigrationFolder[];
  tenantBaseline?: Baseline;
  spares: SparePool;
  defaults: Pick<ServerRecord, 'tenantsDatabase' | 'ownerRole' | 'ownerSecretRef' | 'runtimeRole' | 'runtimeSecretRef'>;
}

/** A server that drops packets must not hold a request for minutes. */
const connectTimeoutMs = 5000;

const invalid = (errors: FieldError[]) => new AppError(problems.invalidRequest, 'Some fields are invalid', errors);

function resolvable(field: string, ref: string): FieldError[] {
  try {
    resolveSecret(ref);
    return [];
  } catch {
    return [{ field, message: `${ref} does not resolve in this process: set ${ref.slice(4)} where Strata runs` }];
  }
}

function unreachable(err: unknown, where: string[], credentials: string): AppError {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message || code;
  const fields = code === '28P01' || code === '28000' ? [credentials] : where;
  return new AppError(
    problems.serverUnreachable,
    `The server refused or did not answer: ${message}`,
    fields.map((field) => ({ field, message })),
  );
}

async function probe(config: pg.ClientConfig, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: connectTimeoutMs, application_name: 'strata-server-check' });
  client.on('error', () => undefined); // a dropped session fails the query under way, not the process
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const runtimeFields = (server: Pick<ServerRecord, 'runtimeHost' | 'runtimePort'>) =>
  server.runtimeHost || server.runtimePort ? ['body.runtimeHost', 'body.runtimePort'] : ['body.host', 'body.port'];

async function checkRuntime(server: ServerRecord) {
  await probe(connectionConfig(server, 'runtime', server.tenantsDatabase), 'SELECT 1').catch((err: unknown) => {
    throw unreachable(err, runtimeFields(server), 'body.runtimeSecretRef');
  });
}

async function refuseDuplicate(catalog: CatalogClient, draft: { name: string; host: string; port: number; tenantsDatabase: string }) {
  const clash = await catalog.databaseServer.findFirst({
    where: { OR: [{ name: draft.name }, { host: draft.host, port: draft.port, tenantsDatabase: draft.tenantsDatabase }] },
  });
  if (!clash) return;
  throw new AppError(
    problems.serverExists,
    clash.name === draft.name
      ? `A server named ${draft.name} is already registered`
      : `${draft.host}:${draft.port}/${draft.tenantsDatabase} is already registered as ${clash.name}`,
  );
}

/** Every step before the record is idempotent, so a retry or a concurrent registration is harmless. */
export async function registerServer(deps: RegistryDeps, actor: string | null, raw: ServerAddInput): Promise<DatabaseServer> {
  const input = serverAdd.parse(raw);
  const { bootstrap, ...settings } = input;
  const draft: ServerRecord = {
    id: '',
    ...deps.defaults,
    ...settings,
    runtimeHost: settings.runtimeHost ?? null,
    runtimePort: settings.runtimePort ?? null,
  };
  const unresolved = [
    ...resolvable('body.ownerSecretRef', draft.ownerSecretRef),
    ...resolvable('body.runtimeSecretRef', draft.runtimeSecretRef),
    ...resolvable('body.bootstrap.secretRef', bootstrap.secretRef),
  ];
  if (unresolved.length) throw invalid(unresolved);
  await refuseDuplicate(deps.catalog, draft);

  await bootstrapServer({
    adminUrl: { host: draft.host, port: draft.port, user: bootstrap.user, password: resolveSecret(bootstrap.secretRef), database: bootstrap.database },
    connectTimeoutMs,
    owner: { role: draft.ownerRole, password: resolveSecret(draft.ownerSecretRef) },
    runtime: { role: draft.runtimeRole, password: resolveSecret(draft.runtimeSecretRef) },
    databases: [{ name: draft.tenantsDatabase, runtimeConnects: true }],
  }).catch((err: unknown) => {
    if ((err as { code?: string }).code === '42501') {
      throw invalid([{ field: 'body.bootstrap.user', message: `${bootstrap.user} may not create roles and databases there` }]);
    }
    throw unreachable(err, ['body.host', 'body.port'], 'body.bootstrap.secretRef');
  });
  await checkRuntime(draft);
  await withOwnerConnection(draft, draft.tenantsDatabase, (client) =>
    applyMigrations(client, { schema: 'public', migrations: deps.tenantMigrations, baseline: deps.tenantBaseline, runtimeRole: draft.runtimeRole }),
  );

  const { id: _id, ...fields } = draft;
  const server = await deps.catalog.databaseServer.create({ data: fields }).catch(async (err: unknown) => {
    // A concurrent registration of the same name or place won.
    if ((err as { code?: string }).code === 'P2002') await refuseDuplicate(deps.catalog, draft);
    throw err;
  });
  await recordAdminAction(deps.catalog, { adminId: actor, action: 'server.add', details: describe(server) });
  await deps.servers.changed(server.id);
  if (server.state === 'active') deps.spares.refill(server);
  return server;
}

export async function listServers(catalog: CatalogClient) {
  return (await serverLoads(catalog)).map(({ server, tenants }) => ({ ...server, tenants }));
}

export async function findServer(catalog: CatalogClient, name: string): Promise<DatabaseServer> {
  const server = await catalog.databaseServer.findUnique({ where: { name } });
  if (!server) throw new AppError(problems.notFound, `No database server named ${name}`);
  return server;
}

const stateActions: Record<ServerState, string> = { active: 'server.uncordon', cordoned: 'server.cordon', draining: 'server.drain' };

/**
 * Cordoned and draining servers keep serving and are migrated, but take no new tenants (a drain
 * moves them off: server-drain.ts). Health's `down` is kept apart.
 */
export async function setServerState(deps: Pick<RegistryDeps, 'catalog' | 'servers'>, actor: string | null, name: string, state: ServerState) {
  const current = await findServer(deps.catalog, name);
  const server = await deps.catalog.databaseServer.update({ where: { name }, data: { state } });
  await recordAdminAction(deps.catalog, { adminId: actor, action: stateActions[state], details: { name, from: current.state, to: state } });
  await deps.servers.changed(server.id);
  return server;
}

/** Refused while any tenant row (deleted, not purged, included) or unfinished move refers to it. */
export async function removeServer(deps: Pick<RegistryDeps, 'catalog' | 'servers'>, actor: string | null, name: string, defaultName: string) {
  const server = await findServer(deps.catalog, name);
  if (name === defaultName) throw new AppError(problems.serverNotEmpty, `${name} holds the catalog: it cannot be removed`);
  const [tenants, moves] = await Promise.all([
    deps.catalog.tenant.groupBy({ by: ['status'], where: { serverId: server.id }, _count: { _all: true } }),
    deps.catalog.tenantMove.count({ where: { status: 'running', OR: [{ fromServerId: server.id }, { toServerId: server.id }] } }),
  ]);
  if (tenants.length || moves) {
    const held = tenants.map((t) => `${t._count._all} ${t.status}`).join(', ');
    throw new AppError(
      problems.serverNotEmpty,
      `${name} still holds ${held || 'no tenants'}${moves ? ` and ${moves} unfinished move(s)` : ''}: drain it (npm run server -- drain ${name}) and purge deleted tenants first`,
    );
  }
  await deps.catalog.databaseServer.delete({ where: { id: server.id } });
  await recordAdminAction(deps.catalog, { adminId: actor, action: 'server.remove', details: describe(server) });
  await deps.servers.changed(server.id);
  return server;
}

const connectionFields = ['host', 'port', 'runtimeHost', 'runtimePort', 'ownerSecretRef', 'runtimeSecretRef'] as const;

/** E.g. after a failover. */
export async function updateServer(deps: Pick<RegistryDeps, 'catalog' | 'servers'>, actor: string | null, name: string, raw: ServerPatch) {
  const patch = serverPatch.parse(raw);
  const current = await findServer(deps.catalog, name);
  if (connectionFields.some((field) => patch[field] !== undefined)) await checkConnection(deps.catalog, current, patch);
  const server = await deps.catalog.databaseServer.update({ where: { name }, data: patch });
  const changes = Object.fromEntries(
    Object.keys(patch).map((key) => [key, { from: plain(current[key as keyof ServerPatch]), to: plain(server[key as keyof ServerPatch]) }]),
  );
  await recordAdminAction(deps.catalog, { adminId: actor, action: 'server.update', details: { name, ...changes } });
  await deps.servers.changed(server.id);
  return server;
}

/** Audit details are JSON: storage figures are BigInts in the catalog. */
const plain = (value: unknown) => (typeof value === 'bigint' ? Number(value) : value);

/** Must reach the same server, as owner and runtime role. */
async function checkConnection(catalog: CatalogClient, current: DatabaseServer, patch: z.output<typeof serverPatch>) {
  const next: ServerRecord = { ...current, ...patch } as ServerRecord;
  const unresolved = [...resolvable('body.ownerSecretRef', next.ownerSecretRef), ...resolvable('body.runtimeSecretRef', next.runtimeSecretRef)];
  if (unresolved.length) throw invalid(unresolved);
  if (next.host !== current.host || next.port !== current.port) await refuseDuplicate(catalog, { ...next, name: '' });
  const [found] = (await probe(connectionConfig(next, 'owner', next.tenantsDatabase), `SELECT to_regclass('public._strata_migrations') AS history`).catch(
    (err: unknown) => {
      throw unreachable(err, ['body.host', 'body.port'], 'body.ownerSecretRef');
    },
  )) as { history: string | null }[];
  if (!found?.history) {
    throw invalid([{ field: 'body.host', message: `${next.tenantsDatabase} there holds no Strata tenant tables: not the same server` }]);
  }
  await checkRuntime(next);
}

/** What the audit trail keeps: never a secret. */
function describe(server: DatabaseServer) {
  const { name, host, port, runtimeHost, runtimePort, tenantsDatabase, ownerRole, ownerSecretRef, runtimeRole, runtimeSecretRef, state, weight } = server;
  return { name, host, port, runtimeHost, runtimePort, tenantsDatabase, ownerRole, ownerSecretRef, runtimeRole, runtimeSecretRef, state, weight };
}
