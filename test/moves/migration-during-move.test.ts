/**
 * Regression: a migration applied during a move into the pooled tier diverged silently. The fleet
 * migrates the pooled tables and the tenant's source schema alike, so both ends were at the same
 * version at the switch, but the backfill had run on the pooled tables before some of the tenant's
 * rows reached them (here: a count of activities, some still on their way), and after the full
 * verification only the keys written meanwhile are compared, so nothing noticed the leads'
 * differing counts. The move must fail safe (roll back) instead.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { migrationDirs } from '../../src/migrations/migration-files.js';
import { requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { privateOwnerRole } from '../support/owner-role.js';
import { runScript, type ScriptResult } from '../support/run-script.js';
import { seedTenantRows } from '../support/tenant-rows.js';

const ownerRole = privateOwnerRole(t);
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_OWNER_ROLE: ownerRole });
const dir = await mkdtemp(join(tmpdir(), 'strata-migration-during-move-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await cp(migrationDirs.tenant, dir, { recursive: true });
await mkdir(join(dir, '20990101000000_lead_score'));
// A backfill computed from another table: on the target it counts only the activities there yet.
await writeFile(
  join(dir, '20990101000000_lead_score', 'migration.sql'),
  'ALTER TABLE "leads" ADD COLUMN "score" INTEGER;\n' +
    'UPDATE "leads" SET "score" = (SELECT count(*) FROM "activities" a WHERE a."tenant_id" = "leads"."tenant_id" AND a."lead_id" = "leads"."id");\n',
);

const migrate = () =>
  runScript('migrate', ['apply', '--migrations-dir', dir], {
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: platform.config.database.prefix,
    STRATA_OWNER_ROLE: ownerRole,
    REDIS_URL: '',
  });

t.test('schema → pooled with npm run migrate -- apply just before the fence: the move rolls back', async (t) => {
  const tenant = await provision(platform, 'schema', 'migrated-meanwhile');
  await seedTenantRows(platform, tenant, 200);
  const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'pooled', requestedBy: null });
  let migrated: ScriptResult = { code: null, stdout: '', stderr: '' };
  const failed = await runMove(platform, job.id, {
    graceMs: 0,
    onPhase: async (phase) => {
      if (phase !== 'fence') return;
      // Logged in the source, not yet on the target when the fleet migrates both.
      await inLocation(tenant, `INSERT INTO activities (kind, body, lead_id) SELECT 'note', 'late ' || g, md5('l1')::uuid FROM generate_series(1, 3) g`);
      migrated = await migrate();
    },
  });
  t.equal(migrated.code, 0, migrated.code === 0 ? 'the fleet migrated both ends' : migrated.stderr);
  t.equal(failed.status, 'failed', 'the move failed safe');
  t.match(failed.error, /migration was applied while the tenant was moving/);
  const stayed = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  t.match(stayed, { tier: 'schema', schemaName: tenant.schemaName, status: 'active' }, 'the tenant stayed on its source');
  const [lead] = await inLocation<{ score: number; n: number }>(
    stayed,
    `SELECT score, (SELECT count(*)::int FROM activities WHERE lead_id = md5('l1')::uuid) AS n FROM leads WHERE id = md5('l1')::uuid`,
  );
  t.ok(lead && lead.score === lead.n && lead.n >= 3, `on the source the backfill counted every activity (${JSON.stringify(lead)})`);
});

/** Runs `sql` as the owner in the tenant's transaction and schema. */
async function inLocation<T extends object>(tenant: Tenant, sql: string): Promise<T[]> {
  return withOwnerConnection(platform.defaultServer, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => {
      await client.query(`SELECT set_config('search_path', $1, true)`, [escapeIdentifier(tenant.schemaName)]);
      return (await client.query<T>(sql)).rows;
    }),
  );
}
