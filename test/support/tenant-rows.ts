/**
 * Deterministic CRM rows for a tenant, written in bulk with SQL (fast enough for benchmarks of
 * 100k+ rows). The same `leads` count gives the same rows (ids, text, timestamps) in any tenant,
 * so two tenants seeded alike must checksum alike. Text includes what COPY has to escape (tabs,
 * newlines, backslashes, non-ASCII) and NULLs.
 */
import { escapeLiteral } from 'pg';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { Platform } from '../../src/platform/platform.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { tableChecksum, type TableChecksum } from '../../src/transfer/table-checksum.js';
import { tenantTables } from '../../src/transfer/tenant-tables.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';

/** Rows written per table for `leads` leads. */
export function seededCounts(leads: number) {
  const users = Math.ceil(leads / 100);
  return { users, leads, deals: Math.floor(leads / 4), activities: Math.floor(leads / 4), refresh_tokens: users };
}

/** What an archive of a seeded tenant holds: every table but refresh_tokens, which never leaves (isSessionTable). */
export function archivedCounts(leads: number) {
  const { refresh_tokens: _sessions, ...archived } = seededCounts(leads);
  return archived;
}

export const archivedRows = (leads: number) => Object.values(archivedCounts(leads)).reduce((a, b) => a + b);

/** The checksums a tenant restored from an archive of a tenant with `sums` has: its sessions stay behind. */
export const asRestored = (sums: Record<string, TableChecksum>) => ({ ...sums, refresh_tokens: { rows: 0, checksum: '0' } });

export async function seedTenantRows(platform: Platform, tenant: Tenant, leads: number): Promise<void> {
  const { users, deals, activities } = seededCounts(leads);
  const server = await platform.servers.byId(tenant.serverId);
  await withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => {
      await client.query(`SELECT set_config('search_path', ${escapeLiteral(tenant.schemaName)}, true)`);
      const at = `timestamptz '2026-01-01 00:00:00+00'`;
      await client.query(
        `INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at)
         SELECT md5('u' || g)::uuid, 'user' || g || '@seed.example', 'User ' || g, 'not-a-hash-' || g,
                (ARRAY['owner','admin','manager','staff'])[1 + g % 4], ${at} + g * interval '1 s', ${at} + g * interval '1 s'
           FROM generate_series(1, ${users}) g;
         INSERT INTO leads (id, name, company, email, status, owner_id, version, created_at, updated_at)
         SELECT md5('l' || g)::uuid, 'Lead ' || g || CASE WHEN g % 7 = 0 THEN E'\\ttab \\\\ back\\nline é 🚀' ELSE '' END,
                CASE WHEN g % 2 = 0 THEN 'Company ' || g END, 'lead' || g || '@seed.example',
                (ARRAY['new','contacted','qualified','unqualified','converted'])[1 + g % 5],
                md5('u' || (1 + g % ${users}))::uuid, 1 + g % 3, ${at} + g * interval '1 ms', ${at} + g * interval '2 ms'
           FROM generate_series(1, ${leads}) g;
         INSERT INTO deals (id, title, amount, currency, stage, lead_id, owner_id, close_date, created_at, updated_at)
         SELECT md5('d' || g)::uuid, 'Deal ' || g, (g * 12.5)::numeric(18, 2), 'EUR',
                (ARRAY['prospecting','qualification','proposal','negotiation','won','lost'])[1 + g % 6],
                md5('l' || g)::uuid, md5('u' || (1 + g % ${users}))::uuid, date '2026-06-01' + g % 200, ${at}, ${at}
           FROM generate_series(1, ${deals}) g;
         INSERT INTO activities (id, kind, body, lead_id, deal_id, author_id, occurred_at, created_at)
         SELECT md5('a' || g)::uuid, (ARRAY['note','call','email','meeting'])[1 + g % 4],
                'Talked about deal ' || g, md5('l' || g)::uuid, md5('d' || g)::uuid, md5('u' || (1 + g % ${users}))::uuid, ${at}, ${at}
           FROM generate_series(1, ${activities}) g;
         INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at)
         SELECT md5('r' || g)::uuid, md5('u' || g)::uuid, md5('f' || g)::uuid, 'hash-' || g, ${at} + interval '30 days', ${at}
           FROM generate_series(1, ${users}) g;`,
      );
    }),
  );
}

/**
 * Per-table row counts and checksums of `asTenantId`'s rows in `location` (default: the tenant's
 * own id and placement), read as the owner inside the tenant's transaction.
 */
export async function tenantChecksums(platform: Platform, tenant: Tenant, asTenantId = tenant.id, location: Tenant = tenant) {
  const server = await platform.servers.byId(location.serverId);
  return withOwnerConnection(server, location.databaseName, async (client) => {
    const tables = await tenantTables(client, location.schemaName);
    return inTenantTransaction(
      client,
      asTenantId,
      async () => {
        const sums: Record<string, TableChecksum> = {};
        for (const table of tables) sums[table.name] = await tableChecksum(client, location.schemaName, table, asTenantId);
        return sums;
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  });
}
