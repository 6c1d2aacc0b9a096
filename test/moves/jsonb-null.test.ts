/**
 * Regression: a jsonb null in a row changed during a move failed the catch-up and rolled the move
 * back. Rows travel as jsonb, where a JSON null and an SQL NULL look alike, and
 * jsonb_populate_recordset made the JSON null an SQL NULL, which audit_events.changes (NOT NULL)
 * refuses. Such rows, written while the move copies, must arrive as they were, on every tier.
 */
import { createHash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import type { Tier } from '../../src/tenants/placement.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { provision, startTestPlatform } from '../helper.js';
import { seedTenantRows } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });

/** Runs `sql` as the owner inside the tenant's transaction, in its schema. */
async function asTenant<T extends object>(tenant: Tenant, sql: string, values: unknown[] = []) {
  const server = await platform.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => {
      await client.query(`SELECT set_config('search_path', $1, true)`, [escapeIdentifier(tenant.schemaName)]);
      return (await client.query<T>(sql, values)).rows;
    }),
  );
}

const changesSql = `SELECT entity_id::text AS id, changes::text AS changes, jsonb_typeof(changes) AS type FROM audit_events WHERE tenant_id = $1 ORDER BY entity_id`;
const moves: [Tier, Tier][] = [
  ['pooled', 'schema'],
  ['schema', 'dedicated'],
  ['dedicated', 'pooled'],
];

for (const [from, to] of moves) {
  t.test(`${from} → ${to}: JSON nulls written during the move arrive as JSON nulls`, async (t) => {
    const tenant = await provision(platform, from, 'json-null');
    await seedTenantRows(platform, tenant, 20);
    await asTenant(tenant, `INSERT INTO audit_events (action, entity, entity_id, changes) VALUES ('lead.update', 'lead', md5('before')::uuid, '{"a": 1}')`);
    const job = await requestMove(platform, { tenantId: tenant.id, targetTier: to, requestedBy: null });
    const done = await runMove(platform, job.id, {
      graceMs: 0,
      onPhase: async (phase) => {
        if (phase !== 'catchup') return;
        // After the bulk copy: these reach the target through the catch-up alone.
        await asTenant(
          tenant,
          `INSERT INTO audit_events (action, entity, entity_id, changes) VALUES
             ('lead.update', 'lead', md5('null')::uuid, 'null'), ('lead.update', 'lead', md5('inner')::uuid, '{"a": null}'),
             ('lead.update', 'lead', md5('text')::uuid, '"null"');
           UPDATE audit_events SET changes = 'null' WHERE entity_id = md5('before')::uuid`,
        );
      },
    });
    t.equal(done.status, 'succeeded', done.error ?? 'moved');
    const moved = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    const rows = await asTenant<{ id: string; changes: string; type: string }>(moved, changesSql, [tenant.id]);
    const byKey = (seed: string) => rows.find((r) => r.id === md5uuid(seed));
    t.match(byKey('before'), { changes: 'null', type: 'null' }, 'a value changed to JSON null');
    t.match(byKey('null'), { changes: 'null', type: 'null' }, 'a JSON null');
    t.match(byKey('inner'), { changes: '{"a": null}', type: 'object' }, 'a null inside an object');
    t.match(byKey('text'), { changes: '"null"', type: 'string' }, 'the string "null"');
  });
}

function md5uuid(seed: string) {
  const hex = createHash('md5').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
