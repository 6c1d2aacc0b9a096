/**
 * Shared parts of the tier-move tests: a write loop that keeps creating, updating and deleting a
 * tenant's leads and activities through the router (as the API does, re-reading the catalog entry
 * each time) and remembers every acknowledged write, and checks of where the tenant's rows are.
 */
import { randomUUID } from 'node:crypto';
import pg, { escapeIdentifier } from 'pg';
import type { Test } from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { isFencedWrite } from '../../src/moves/change-capture.js';
import type { Location } from '../../src/moves/move-locations.js';
import type { Platform } from '../../src/platform/platform.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { tenantTables } from '../../src/transfer/tenant-tables.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';

export interface WriteLoop {
  /** Stops the loop and resolves once its last write is settled. */
  stop(): Promise<WriteLoopReport>;
}

export interface WriteLoopReport {
  writes: number;
  /** Writes refused by the fence (and retried until acknowledged). */
  fenced: number;
  /** Any other error: there must be none. */
  errors: string[];
  /** Latency of each acknowledged write, retries included (ms). */
  latencies: number[];
  /** Lead id → its last acknowledged name; deleted leads are absent. */
  leads: Map<string, string>;
  /** Activity id → lead id; gone with their lead (ON DELETE CASCADE). */
  activities: Map<string, string>;
  /** Deal id → its amount, digits beyond a JS number's precision (must survive the catch-up exactly). */
  deals: Map<string, string>;
}

/** Writes until stopped, one at a time, each retried after a fence refusal until acknowledged. */
export function startWriteLoop(platform: Platform, tenantId: string, options: { pauseMs?: number } = {}): WriteLoop {
  const report: WriteLoopReport = { writes: 0, fenced: 0, errors: [], latencies: [], leads: new Map(), activities: new Map(), deals: new Map() };
  let running = true;
  let n = 0;
  const db = async () => platform.router.clientFor((await platform.tenants.byId(tenantId))!);
  const acknowledged = async (write: () => Promise<void>) => {
    const started = performance.now();
    for (;;) {
      try {
        await write();
        report.writes++;
        report.latencies.push(performance.now() - started);
        return;
      } catch (err) {
        if (!isFencedWrite(err)) throw err;
        report.fenced++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const loop = (async () => {
    while (running) {
      n++;
      const ids = [...report.leads.keys()];
      const pick = ids[Math.floor(Math.random() * ids.length)];
      try {
        if (n % 5 === 0 && pick) {
          await acknowledged(async () => {
            await (await db()).lead.deleteMany({ where: { id: pick } });
          });
          report.leads.delete(pick);
          for (const [activity, lead] of report.activities) if (lead === pick) report.activities.delete(activity);
        } else if (n % 5 === 1 && pick) {
          const name = `renamed ${n}`;
          await acknowledged(async () => {
            await (await db()).lead.updateMany({ where: { id: pick }, data: { name, version: { increment: 1 } } });
          });
          report.leads.set(pick, name);
        } else if (n % 10 === 3) {
          const id = randomUUID();
          const amount = `${9_007_199_254_740_993n + BigInt(n)}.${String(n % 100).padStart(2, '0')}`;
          await acknowledged(async () => {
            await (await db()).deal.create({ data: { id, title: `deal ${n}`, amount, currency: 'EUR' } });
          });
          report.deals.set(id, amount);
        } else if (n % 5 === 2 && pick) {
          const id = randomUUID();
          await acknowledged(async () => {
            await (await db()).activity.create({ data: { id, kind: 'note', body: `note ${n}`, leadId: pick } });
          });
          report.activities.set(id, pick);
        } else {
          const id = randomUUID();
          const name = `lead ${n}`;
          await acknowledged(async () => {
            await (await db()).lead.create({ data: { id, name } });
          });
          report.leads.set(id, name);
        }
      } catch (err) {
        report.errors.push(String((err as Error).message ?? err).slice(0, 300));
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}

/** Every acknowledged write is there exactly once, as last acknowledged, read through the router. */
export async function assertWritesPresent(t: Test, platform: Platform, tenantId: string, report: WriteLoopReport, label: string) {
  const db = platform.router.clientFor((await platform.tenants.byId(tenantId))!);
  const written = [...report.leads.keys()];
  const leads = await db.lead.findMany({ where: { id: { in: written } }, select: { id: true, name: true } });
  t.equal(leads.length, written.length, `${label}: every acknowledged lead is there once (${written.length})`);
  t.same(new Map(leads.map((l) => [l.id, l.name])), report.leads, `${label}: each lead as last acknowledged`);
  const activityIds = [...report.activities.keys()];
  const activities = await db.activity.count({ where: { id: { in: activityIds } } });
  t.equal(activities, activityIds.length, `${label}: every acknowledged activity is there (${activityIds.length})`);
  const deals = await db.deal.findMany({ where: { id: { in: [...report.deals.keys()] } }, select: { id: true, amount: true } });
  t.same(new Map(deals.map((d) => [d.id, d.amount.toFixed(2)])), report.deals, `${label}: every acknowledged deal, its amount to the cent`);
  t.same(report.errors, [], `${label}: no write failed other than refusals by the fence`);
}

/** The tenant's rows per table in a location (0 everywhere, or the location gone, after cleanup). */
export async function rowsAt(platform: Platform, location: Location, tenantId: string): Promise<Record<string, number> | 'gone'> {
  const server = await platform.servers.byId(location.serverId);
  const exists = await withOwnerConnection(server, server.tenantsDatabase, async (c) => {
    const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [location.database]);
    return db.rowCount === 1;
  });
  if (!exists) return 'gone';
  return withOwnerConnection(server, location.database, async (client) => {
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [location.schema]);
    if (!schema.rowCount) return 'gone';
    const tables = await tenantTables(client, location.schema);
    return inTenantTransaction(client, tenantId, async () => {
      const counts: Record<string, number> = {};
      for (const table of tables) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${escapeIdentifier(location.schema)}.${escapeIdentifier(table.name)} WHERE tenant_id = $1`,
          [tenantId],
        );
        counts[table.name] = rows[0]!.n;
      }
      return counts;
    });
  });
}

/**
 * Distinct tenant ids across every table of a location, read as a superuser (on another server the
 * owner role may predate BYPASSRLS, and row security would then hide other tenants' rows).
 */
export async function distinctTenantIds(superuserUrl: string, location: Location): Promise<string[]> {
  const url = new URL(superuserUrl);
  url.pathname = `/${location.database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const ids = new Set<string>();
    for (const table of await tenantTables(client, location.schema)) {
      const { rows } = await client.query<{ tenant_id: string }>(
        `SELECT DISTINCT tenant_id::text FROM ${escapeIdentifier(location.schema)}.${escapeIdentifier(table.name)}`,
      );
      for (const r of rows) ids.add(r.tenant_id);
    }
    return [...ids];
  } finally {
    await client.end();
  }
}

/** The foreign keys of a location (table, name, definition with the schema left out), sorted. */
export async function foreignKeysAt(platform: Platform, location: Location): Promise<string[]> {
  const server = await platform.servers.byId(location.serverId);
  return withOwnerConnection(server, location.database, async (client) => {
    const { rows } = await client.query<{ fk: string }>(
      `SELECT c.relname || ' ' || f.conname || ' ' || replace(pg_get_constraintdef(f.oid), quote_ident(n.nspname) || '.', '') AS fk
         FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE f.contype = 'f' AND n.nspname = $1 AND f.convalidated ORDER BY 1`,
      [location.schema],
    );
    return rows.map((r) => r.fk);
  });
}

export const placementOf = (tenant: Tenant): Location => ({
  tier: tenant.tier,
  serverId: tenant.serverId,
  schema: tenant.schemaName,
  database: tenant.databaseName,
});
