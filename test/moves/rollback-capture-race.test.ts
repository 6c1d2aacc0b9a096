/**
 * Regression: a rolled-back move could leave change-log rows behind. The rollback cleared the
 * tenant's log and `moving` row in one plain transaction while writers kept going: a write whose
 * guard had already logged its keys, still uncommitted, was invisible to that DELETE and committed
 * just after it, leaving its change-log rows with no capture to own them. The rollback now lifts
 * capture under the write barrier (liftCapture), which waits for in-flight writes first.
 *
 * Reproduced as it happens: concurrent writers through the router, each write the API's own
 * transaction (the lead and its audit row), hammer the tenant while a move is cancelled and rolled
 * back, round after round, on each source tier.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createLead, deleteLead, updateLead } from '../../src/crm/leads/lead-store.js';
import { captureSchema, isFencedWrite } from '../../src/moves/change-capture.js';
import { requestCancel, requestMove } from '../../src/moves/move-jobs.js';
import { withLocation } from '../../src/moves/move-locations.js';
import { runMove } from '../../src/moves/run-move.js';
import { platformWriter } from '../../src/records/record-store.js';
import type { Tier } from '../../src/tenants/placement.js';
import { provision, startTestPlatform } from '../helper.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { placementOf } from './move-support.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });

const writers = 6;
const rounds = 12;

interface Ledger {
  leads: Map<string, string>;
  writes: number;
  errors: string[];
}

/** One writer: creates, renames and deletes its own leads until stopped, retrying fence refusals. */
function startWriter(tenantId: string, id: number, ledger: Ledger) {
  let running = true;
  const mine: string[] = [];
  const db = async () => platform.router.clientFor((await platform.tenants.byId(tenantId))!);
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const pick = mine.length ? mine[Math.floor(Math.random() * mine.length)] : undefined;
      try {
        for (;;) {
          try {
            if (n % 4 === 3 && pick) {
              await deleteLead(platformWriter(await db()), pick);
              ledger.leads.delete(pick);
              mine.splice(mine.indexOf(pick), 1);
            } else if (n % 4 === 2 && pick) {
              const name = `w${id} renamed ${n}`;
              await updateLead(platformWriter(await db()), pick, { name });
              ledger.leads.set(pick, name);
            } else {
              const name = `w${id} lead ${n}`;
              const lead = await createLead(platformWriter(await db()), { name });
              ledger.leads.set(lead.id, name);
              mine.push(lead.id);
            }
            ledger.writes++;
            break;
          } catch (err) {
            if (!isFencedWrite(err)) throw err;
            await sleep(20);
          }
        }
      } catch (err) {
        ledger.errors.push(String((err as Error).message).slice(0, 300));
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Rows the capture keeps for the tenant in the source's database: its log (any schema), its `moving` row. */
async function captureLeft(tenantId: string, location: ReturnType<typeof placementOf>) {
  return withLocation(platform, location, async (client) => {
    const { rows } = await client.query<{ changes: number; moving: number }>(
      `SELECT (SELECT count(*)::int FROM ${captureSchema}.changes WHERE tenant_id = $1) AS changes,
              (SELECT count(*)::int FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2) AS moving`,
      [tenantId, location.schema],
    );
    return rows[0]!;
  });
}

async function cancelledMove(tenantId: string, to: Tier) {
  const job = await requestMove(platform, { tenantId, targetTier: to, requestedBy: null });
  return runMove(platform, job.id, {
    // Cancelled once rows are copied and writes are being logged: the rollback meets them.
    onPhase: async (phase) => {
      if (phase === 'catchup') await requestCancel(platform.catalog, job.id, null);
    },
  });
}

const moves: [Tier, Tier][] = [
  ['schema', 'pooled'],
  ['dedicated', 'pooled'],
  ['pooled', 'schema'],
];

for (const [from, to] of moves) {
  t.test(`${from} → ${to}, cancelled ${rounds} times under ${writers} writers: no change-log rows outlive the rollback`, async (t) => {
    const tenant = await provision(platform, from, `race-${from}`);
    await seedTenantRows(platform, tenant, 50);
    const source = placementOf(tenant);
    const ledger: Ledger = { leads: new Map(), writes: 0, errors: [] };
    const stops = Array.from({ length: writers }, (_, i) => startWriter(tenant.id, i, ledger));
    const left: { changes: number; moving: number }[] = [];
    const statuses: string[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        statuses.push((await cancelledMove(tenant.id, to)).status);
        // A racing write commits moments after the rollback; give it time to land.
        await sleep(50);
        left.push(await captureLeft(tenant.id, source));
      }
    } finally {
      await Promise.all(stops.map((stop) => stop()));
    }
    left.push(await captureLeft(tenant.id, source));

    t.same(statuses, Array(rounds).fill('cancelled'), 'every move was cancelled and rolled back');
    t.ok(ledger.writes > rounds * writers, `${ledger.writes} acknowledged writes`);
    t.same(left, Array(rounds + 1).fill({ changes: 0, moving: 0 }), 'no change-log or moving row for the tenant after any rollback');
    t.same(ledger.errors, [], 'no write failed');

    const now = (await platform.tenants.byId(tenant.id))!;
    t.match(now, { status: 'active', tier: from, schemaName: tenant.schemaName, databaseName: tenant.databaseName }, 'served from its source');
    const db = platform.router.clientFor(now);
    const leads = await db.lead.findMany({ where: { name: { startsWith: 'w' } }, select: { id: true, name: true } });
    t.same(new Map(leads.map((l) => [l.id, l.name])), ledger.leads, `every acknowledged write is there, as last acknowledged (${ledger.leads.size} leads)`);
  });
}
