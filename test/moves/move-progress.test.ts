/**
 * A move job's stored progress is parsed, not cast: a damaged document (edited by hand, written
 * by a broken version) stops whoever reads it with the job named, instead of being read as figures.
 */
import t from 'tap';
import { progressSummary, readProgress, requestMove, type TenantMove } from '../../src/moves/move-jobs.js';
import { toMoveView } from '../../src/moves/move-schemas.js';
import { runMove } from '../../src/moves/run-move.js';
import { provision, startTestPlatform } from '../helper.js';

const jobId = '00000000-0000-4000-8000-000000000001';
/** A job row as the catalog returns it, with `progress` as stored. */
const job = (progress: unknown) =>
  ({
    id: jobId,
    tenantId: '00000000-0000-4000-8000-000000000002',
    fromTier: 'pooled',
    fromServerId: '00000000-0000-4000-8000-000000000003',
    fromSchema: 'public',
    fromDatabase: 'strata_tenants',
    toTier: 'schema',
    toServerId: '00000000-0000-4000-8000-000000000003',
    toSchema: 't_acme',
    toDatabase: 'strata_tenants',
    phase: 'copy',
    status: 'running',
    cancelRequested: false,
    progress,
    error: null,
    requestedBy: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    fencedAt: null,
    flippedAt: null,
    finishedAt: null,
  }) as TenantMove;

t.test('a well-formed progress reads back as stored, members of a newer version included', async (t) => {
  const stored = {
    tables: { leads: { copied: 40, total: 100 } },
    copyStartedAt: '2026-12-06T12:00:00.000Z',
    catchUpPasses: 2,
    fenceMs: 35,
    nextVersionField: 'kept',
  };
  t.same(readProgress(job(stored)), stored);
  t.match(toMoveView(job(stored)), { percent: 36, rowsCopied: 40, rowsTotal: 100, tables: stored.tables, catchUpPasses: 2, fenceMs: 35 });
  t.same(readProgress(job({})), {}, 'a job that has recorded nothing yet');
});

t.test('a malformed stored progress is refused with the job and the member named', async (t) => {
  const damaged = [
    { tables: { leads: { copied: '40', total: 100 } } },
    { tables: { leads: { copied: 40 } } },
    { cleanupAfter: 'tomorrow' },
    { fenceMs: 1.5 },
    { verified: { leads: { rows: 3 } } },
    null,
    [],
    'done',
  ];
  for (const progress of damaged) {
    const message = new RegExp(`recorded progress of move ${jobId} is malformed`);
    t.throws(() => readProgress(job(progress)), message, JSON.stringify(progress));
    t.throws(() => progressSummary(job(progress)), message, `no percentage from ${JSON.stringify(progress)}`);
    t.throws(() => toMoveView(job(progress)), message, `no view of ${JSON.stringify(progress)}`);
  }
  t.throws(() => readProgress(job({ tables: { leads: { copied: '40', total: 100 } } })), /tables\.leads\.copied/);
});

t.test('the runner refuses a job whose progress in the catalog is damaged, and leaves it as it was', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
  const tenant = await provision(platform, 'pooled', 'damaged-progress');
  const requested = await requestMove(platform, { tenantId: tenant.id, targetTier: 'schema', requestedBy: null });
  await platform.catalog.tenantMove.update({ where: { id: requested.id }, data: { progress: { tables: { leads: { copied: 'many', total: 10 } } } } });
  await t.rejects(runMove(platform, requested.id), new RegExp(`recorded progress of move ${requested.id} is malformed`));
  t.match(await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: requested.id } }), { status: 'running', phase: 'prepare', error: null });
  t.match(await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } }), { tier: 'pooled', status: 'moving' });
});
