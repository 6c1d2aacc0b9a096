/**
 * Reads across many tenants, bounded per server and in time, with partial results: one tenant's
 * failure or slowness is reported, never the whole read's. `fanOut` uses the router (RLS-scoped);
 * `fanOutGrouped`, read-only grouped selects (docs/operations.md#fleet-reports-fan-out).
 */
import pg from 'pg';
import pLimit from 'p-limit';
import type { Tenant } from '../catalog/catalog-client.js';
import type { TenantClient, TenantRouter } from '../router/tenant-router.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import { type ServerRecord, withOwnerConnection } from '../servers/server-access.js';

export interface FanOutOptions {
  /** Reads in flight at once on each database server. */
  concurrencyPerServer?: number;
  /** Per tenant's read, or per batch's statement. */
  timeoutMs?: number;
}

export interface FanOutFailure {
  tenantId: string;
  slug: string;
  error: string;
}

export interface FanOutResult<T> {
  results: Map<string, T>;
  failures: FanOutFailure[];
}

const defaults = { concurrencyPerServer: 4, timeoutMs: 5_000 };

function byServer<T extends { serverId: string }>(items: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(item.serverId, [...(groups.get(item.serverId) ?? []), item]);
  return groups;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function fanOut<T>(
  router: TenantRouter,
  tenants: Tenant[],
  read: (db: TenantClient, tenant: Tenant) => Promise<T>,
  options: FanOutOptions = {},
): Promise<FanOutResult<T>> {
  const { concurrencyPerServer, timeoutMs } = { ...defaults, ...options };
  const result: FanOutResult<T> = { results: new Map(), failures: [] };
  await Promise.all(
    [...byServer(tenants).values()].map((group) => {
      const limit = pLimit(concurrencyPerServer);
      return Promise.all(
        group.map((tenant) =>
          limit(async () => {
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
            });
            try {
              result.results.set(tenant.id, await Promise.race([read(router.clientFor(tenant), tenant), late]));
            } catch (err) {
              result.failures.push({ tenantId: tenant.id, slug: tenant.slug, error: message(err) });
            } finally {
              clearTimeout(timer);
            }
          }),
        ),
      );
    }),
  );
  return result;
}

/** `select` gets the quoted schema and a uuid[] placeholder; one row per id, in `tenant_id`. */
export interface GroupedRead<T> {
  select(schema: string, tenantIdsParam: string): string;
  row(row: Record<string, unknown>): T;
}

export interface GroupedDeps {
  servers: { byId(id: string): Promise<ServerRecord> };
  owners: OwnerPools;
}

interface Unit {
  serverId: string;
  database: string;
  parts: { schema: string; tenants: Tenant[] }[];
  /** Dedicated databases get a connection of their own, closed after: a pool each would pile up. */
  ownConnection: boolean;
}

const pooledChunk = 1_000;
const schemaBatch = 50;

function unitsOf(tenants: Tenant[], tenantsDatabase: (serverId: string) => string): Unit[] {
  const units: Unit[] = [];
  for (const [serverId, group] of byServer(tenants)) {
    const pooled = group.filter((t) => t.tier === 'pooled');
    for (let i = 0; i < pooled.length; i += pooledChunk) {
      units.push({
        serverId,
        database: tenantsDatabase(serverId),
        parts: [{ schema: 'public', tenants: pooled.slice(i, i + pooledChunk) }],
        ownConnection: false,
      });
    }
    const schemas = group.filter((t) => t.tier === 'schema');
    for (let i = 0; i < schemas.length; i += schemaBatch) {
      const batch = schemas.slice(i, i + schemaBatch);
      units.push({ serverId, database: tenantsDatabase(serverId), parts: batch.map((t) => ({ schema: t.schemaName, tenants: [t] })), ownConnection: false });
    }
    for (const t of group.filter((t) => t.tier === 'dedicated')) {
      units.push({ serverId, database: t.databaseName, parts: [{ schema: 'public', tenants: [t] }], ownConnection: true });
    }
  }
  return units;
}

/** A failed batch is retried tenant by tenant, to pin the failure on its cause. */
export async function fanOutGrouped<T>(deps: GroupedDeps, tenants: Tenant[], read: GroupedRead<T>, options: FanOutOptions = {}): Promise<FanOutResult<T>> {
  const { concurrencyPerServer, timeoutMs } = { ...defaults, ...options };
  const servers = new Map<string, ServerRecord>();
  for (const id of new Set(tenants.map((t) => t.serverId))) servers.set(id, await deps.servers.byId(id));
  const result: FanOutResult<T> = { results: new Map(), failures: [] };

  // Owner connections bypass RLS (every tenant's rows are visible), so the transaction is read-only.
  const query = async (unit: Unit) => {
    const text = unit.parts.map((part, i) => `(${read.select(pg.escapeIdentifier(part.schema), `$${i + 1}::uuid[]`)})`).join(' UNION ALL ');
    const values = unit.parts.map((part) => part.tenants.map((t) => t.id));
    const run = async (client: pg.ClientBase) => {
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.ceil(timeoutMs)}`);
      try {
        return (await client.query(text, values)).rows as Record<string, unknown>[];
      } finally {
        await client.query('ROLLBACK');
      }
    };
    const server = servers.get(unit.serverId)!;
    // statement_timeout bounds the statement; this bounds reaching a server that does not answer.
    let timer: NodeJS.Timeout | undefined;
    const unreachable = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from server ${server.name} within ${2 * timeoutMs} ms`)), 2 * timeoutMs);
    });
    const rows = unit.ownConnection ? withOwnerConnection(server, unit.database, run) : deps.owners.with(server, unit.database, run);
    rows.catch(() => undefined);
    return Promise.race([rows, unreachable]).finally(() => clearTimeout(timer));
  };

  const settle = async (unit: Unit): Promise<void> => {
    try {
      for (const row of await query(unit)) result.results.set(String(row.tenant_id), read.row(row));
    } catch (err) {
      const members = unit.parts.flatMap((part) => part.tenants.map((tenant) => ({ part, tenant })));
      if (members.length === 1) {
        const { tenant } = members[0]!;
        result.failures.push({ tenantId: tenant.id, slug: tenant.slug, error: message(err) });
        return;
      }
      for (const { part, tenant } of members) await settle({ ...unit, parts: [{ schema: part.schema, tenants: [tenant] }] });
    }
  };

  const units = unitsOf(tenants, (serverId) => servers.get(serverId)!.tenantsDatabase);
  await Promise.all(
    [...byServer(units).values()].map((group) => {
      const limit = pLimit(concurrencyPerServer);
      return Promise.all(group.map((unit) => limit(() => settle(unit))));
    }),
  );
  return result;
}
