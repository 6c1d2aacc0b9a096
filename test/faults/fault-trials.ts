/**
 * Fault trials of online moves and migrations under HTTP writers: the move runner killed (SIGKILL,
 * its own process) at each phase, its sessions terminated (pg_terminate_backend), a second real
 * PostgreSQL stopped and started mid-move, and `migrate apply --waves` killed mid-run. After each
 * fault the job is recovered the way an operator would (resume, re-run); every trial then checks
 * the writer's ledger (0 lost, resurrected, duplicated, wrong) and that the tenant is served.
 * Used by `npm run fault-suite` (all trials) and test/faults/fault-suite.test.ts (a slice).
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { historyOf } from '../../src/migrations/apply-migrations.js';
import { discoverTargets } from '../../src/migrations/fleet-targets.js';
import { migrationDirs } from '../../src/migrations/migration-files.js';
import { requestMove, type TenantMove } from '../../src/moves/move-jobs.js';
import { MoveBusyError, runMove } from '../../src/moves/run-move.js';
import { databaseNames, type Platform } from '../../src/platform/platform.js';
import { connectionConfig, runtimeApplicationName, type ServerRecord, withOwnerConnection } from '../../src/servers/server-access.js';
import type { Tier } from '../../src/tenants/placement.js';
import { listSpares } from '../../src/tenants/spare-schemas.js';
import { adminUrl, provision, startTestPlatform, userWithToken } from '../helper.js';
import { startExtraServer, type ExtraServer } from '../support/extra-server.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { testSecrets } from '../support/test-secrets.js';
import { checkLedger, startHttpWriter, type HttpWriter, type LedgerCheck } from './http-writer.js';

export type Trial =
  | { kind: 'move-kill'; phase: string; from: Tier; to: Tier; far?: boolean }
  | { kind: 'move-terminate'; phase: string; from: Tier; to: Tier }
  | { kind: 'move-server-stop'; phase: string; from: Tier; to: Tier }
  | { kind: 'migrate-kill'; afterEvents: number };

export interface TrialResult extends LedgerCheck {
  trial: string;
  outcome: string;
  served: boolean;
  ms: number;
  error?: string;
}

/** Phases of a move in order, and `copy-rows` (killed while the bulk copy streams rows). */
export const phases = ['prepare', 'capture', 'copy', 'copy-rows', 'catchup', 'verify', 'fence', 'final', 'flip', 'invalidate', 'cleanup', 'done'];
const routes: [Tier, Tier][] = [
  ['pooled', 'dedicated'],
  ['schema', 'pooled'],
  ['dedicated', 'schema'],
  ['pooled', 'schema'],
  ['schema', 'dedicated'],
  ['dedicated', 'pooled'],
];

/** Every trial of the full suite: each kill point on two routes, terminations, server stops, migrations. */
export function fullSuite(): Trial[] {
  const kills = phases.flatMap((phase, i) =>
    [0, 3].map((k) => ({ kind: 'move-kill' as const, phase, from: routes[(i + k) % 6]![0], to: routes[(i + k) % 6]![1], far: k === 3 })),
  );
  const terminations = ['copy', 'catchup', 'fence', 'final', 'cleanup'].map((phase, i) => ({
    kind: 'move-terminate' as const,
    phase,
    from: routes[i % 6]![0],
    to: routes[i % 6]![1],
  }));
  const stops = ['copy', 'final', 'flip', 'cleanup'].map((phase) => ({
    kind: 'move-server-stop' as const,
    phase,
    from: 'schema' as const,
    to: 'dedicated' as const,
  }));
  const migrations = [1, 2, 4].map((afterEvents) => ({ kind: 'migrate-kill' as const, afterEvents }));
  return [...kills, ...terminations, ...stops, ...migrations];
}

/** A few trials for `npm test`. */
// No runner kill here: the API's worker may adopt the job before the child runner takes it, and
// the retries that handle that can run past a test file's budget on a loaded machine.
// The migration first: the move after it needs a tenant as current as its target.
export const quickSlice = (): Trial[] => [
  { kind: 'migrate-kill', afterEvents: 2 },
  { kind: 'move-terminate', phase: 'catchup', from: 'schema', to: 'pooled' },
];

export const trialName = (trial: Trial) =>
  trial.kind === 'migrate-kill'
    ? `migrate-kill after ${trial.afterEvents} target(s)`
    : `${trial.kind} at ${trial.phase} (${trial.from} → ${trial.to}${'far' in trial && trial.far ? ', other server' : ''})`;

/** What trials need: a platform, a second server, a listening API. */
export interface FaultBench {
  platform: Platform;
  extra: ExtraServer;
  base: string;
  run(trial: Trial, index: number): Promise<TrialResult>;
}

type Teardowns = Pick<Test, 'teardown'>;

export async function startFaultBench(t: Teardowns): Promise<FaultBench> {
  const platform = await startTestPlatform(t as Test, { STRATA_SPARE_SCHEMAS: '0', STRATA_MOVE_GRACE_MS: '200' });
  const extra = await startExtraServer(t as Test, platform, 'far');
  const app = await buildApp({ config: platform.config, platform });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const env = {
    ...process.env,
    ...testSecrets,
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: platform.config.database.prefix,
    LOG_LEVEL: 'silent',
    REDIS_URL: '',
  };
  const migrationsDir = await mkdtemp(join(tmpdir(), 'strata-faults-'));
  t.teardown(() => rm(migrationsDir, { recursive: true, force: true }));
  await cp(migrationDirs.tenant, migrationsDir, { recursive: true });
  let migrations = 0;

  /** Runs `args` as its own node process; `killWhen` sees its stdout and may SIGKILL it. */
  const child = (args: string[], killWhen?: (out: string) => boolean) =>
    new Promise<NodeJS.Signals | number | null>((resolve) => {
      const proc = spawn(process.execPath, ['--import=tsx', ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d;
        if (killWhen?.(out)) proc.kill('SIGKILL');
      });
      proc.once('exit', (code, signal) => resolve(signal ?? code));
    });

  /**
   * Resumes a move until it ends (a resumed runner may itself meet the fault's aftermath). When
   * the API's worker has adopted the job (a dead runner's lease taken over), waits for it there.
   */
  const finishMove = async (jobId: string) => {
    const deadline = Date.now() + 300_000;
    for (let attempt = 0; ;) {
      const job = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: jobId } });
      if (job.status !== 'running') return job.status;
      try {
        return (await runMove(platform, jobId, { graceMs: 100 })).status;
      } catch (err) {
        if (err instanceof MoveBusyError ? Date.now() > deadline : ++attempt > 5) throw err;
        await sleep(500);
      }
    }
  };

  /**
   * Holds a job's runner lock (its lease) until `release`: the API's worker, which adopts every
   * unlocked unfinished job, must not take it while the child runner is still starting.
   */
  const holdJob = async (jobId: string) => {
    const session = new pg.Client(connectionConfig(platform.defaultServer, 'owner', databaseNames(platform.config.database.prefix).catalog));
    session.on('error', () => undefined);
    await session.connect();
    await session.query(`SELECT pg_advisory_lock(hashtextextended('strata.move.' || $1::text, 0))`, [jobId]);
    let released: Promise<void> | undefined;
    return () => (released ??= session.end().catch(() => undefined));
  };

  /**
   * Terminates the move's sessions and nobody else's: the runner's lock session (found by its
   * advisory lock), its owner sessions and the tenant's runtime pools in the move's databases
   * (`strata:<pool>:<server>`). The catalog sessions this process shares with the API are spared:
   * a trial faults the move, not the suite that checks it.
   */
  const terminateMoveSessions = async (superuser: pg.Client, job: TenantMove) => {
    const databases = [job.fromDatabase, job.toDatabase];
    const pools = await Promise.all(
      [
        [job.fromServerId, job.fromDatabase],
        [job.toServerId, job.toDatabase],
      ].map(async ([serverId, database]) => runtimeApplicationName(await platform.servers.byId(serverId!), database!)),
    );
    const { rows } = await superuser.query<{ application_name: string }>(
      `SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND ((datname = ANY($1) AND (application_name = ANY($2) OR application_name = 'strata-owner'))
               OR pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
                             AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('strata.move.' || $3, 0)))`,
      [databases, pools, job.id],
    );
    return rows.map((r) => r.application_name);
  };

  /**
   * Trial migrations still applied (by name). Tenants are provisioned from the repository's
   * migrations: one made while a trial's migration is in the fleet is behind every target it
   * could move to. Each trial therefore starts with the earlier ones taken back out.
   */
  const applied = new Map<string, string>();
  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
  const spares = (server: ServerRecord) => platform.provisioning.owners.with(server, server.tenantsDatabase, listSpares);

  /** Waits for sessions of killed `migrate` runs to end (a backend finishes its statement before it sees its client gone). */
  const migrateSessionsGone = async (superuser: pg.Client) => {
    for (let i = 0; ; i++) {
      const { rows } = await superuser.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'strata-migrate'`);
      if (rows[0]!.n === 0) return;
      if (i >= 600) throw new Error(`${rows[0]!.n} migrate session(s) still running after 60 s`);
      await sleep(100);
    }
  };

  /** Takes every trial migration back out of each tenant target (pooled tables, schemas, databases, spares) and the folder. */
  const undoTrialMigrations = async (superuser: pg.Client) => {
    if (!applied.size) return;
    await migrateSessionsGone(superuser);
    const targets = (await discoverTargets(platform.catalog, catalogTarget, {}, spares)).filter((target) => target.stream === 'tenant');
    for (const [name, column] of applied) {
      for (const target of targets) {
        if (target.unreachable) throw new Error(`cannot undo ${name} on ${target.id}: ${target.unreachable}`);
        await withOwnerConnection(target.server, target.database, async (client) => {
          const leads = `${pg.escapeIdentifier(target.schema)}.leads`;
          await client.query(
            `BEGIN; ALTER TABLE ${leads} DROP COLUMN IF EXISTS ${pg.escapeIdentifier(column)}; DELETE FROM ${historyOf(target.schema)} WHERE name = ${pg.escapeLiteral(name)}; COMMIT`,
          );
        });
      }
      await rm(join(migrationsDir, name), { recursive: true, force: true });
      applied.delete(name);
    }
  };

  async function tenantFor(tier: Tier, index: number): Promise<Tenant> {
    const tenant = await provision(platform, tier, `f${index}`);
    await seedTenantRows(platform, tenant, 100);
    return tenant;
  }

  async function served(tenantId: string, token: string) {
    const res = await fetch(`${base}/leads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'after recovery' }),
    });
    const list = await fetch(`${base}/leads?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const tenant = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    return res.status === 201 && list.status === 200 && tenant.status === 'active';
  }

  async function leadsOf(tenantId: string) {
    const tenant = (await platform.tenants.byId(tenantId))!;
    return platform.router.clientFor(tenant).lead.findMany({ select: { id: true, name: true } });
  }

  async function run(trial: Trial, index: number): Promise<TrialResult> {
    const began = performance.now();
    const superuser = new pg.Client({ connectionString: adminUrl() });
    await superuser.connect();
    let writer: HttpWriter | undefined;
    try {
      await undoTrialMigrations(superuser);
      const tenant = await tenantFor(trial.kind === 'migrate-kill' ? 'schema' : trial.from, index);
      const { token } = await userWithToken(platform, tenant, 'owner');
      writer = startHttpWriter(base, token, { pauseMs: 2 });
      await sleep(200);
      let outcome: string;
      if (trial.kind === 'migrate-kill') {
        const name = `2099${String(++migrations).padStart(2, '0')}01000000_fault_${index}`;
        await mkdir(join(migrationsDir, name));
        applied.set(name, `fault_${index}`);
        await writeFile(
          join(migrationsDir, name, 'migration.sql'),
          `ALTER TABLE "leads" ADD COLUMN "fault_${index}" TEXT DEFAULT 'x';\nCREATE INDEX "leads_fault_${index}_idx" ON "leads" ("tenant_id", "fault_${index}");\n`,
        );
        const apply = ['scripts/migrate.ts', 'apply', '--waves', '1,2,all', '--concurrency', '1', '--migrations-dir', migrationsDir];
        let seen = 0;
        const killed = await child(apply, (out) => (seen = out.split('\n').filter((l) => l.includes('"target.applied"')).length) >= trial.afterEvents);
        const again = await child(apply);
        outcome = `killed (${String(killed)}) after ${seen} target(s); re-run exit ${String(again)}`;
        if (again !== 0) throw new Error(outcome);
      } else {
        const targetServer = trial.kind === 'move-server-stop' || (trial.kind === 'move-kill' && trial.far) ? extra.server.name : undefined;
        let job = await requestMove(platform, { tenantId: tenant.id, targetTier: trial.to, targetServer, requestedBy: null });
        if (trial.kind === 'move-kill') {
          // The job is held until the child is up; should the API's worker still take it first (in
          // the moment between), the job finishes there and the tenant is moved back for another try.
          const prefix = platform.config.database.prefix;
          outcome = 'the runner was never the one killed';
          for (let attempt = 1; attempt <= 4; attempt++) {
            const release = await holdJob(job.id);
            const ended = await child(['test/fixtures/run-move.ts', JSON.stringify({ prefix, jobId: job.id, killAt: trial.phase })], (out) => {
              if (out.includes('"ready"')) void release();
              return false;
            });
            await release();
            const resumed = await finishMove(job.id);
            if (ended === 'SIGKILL') {
              outcome = `runner SIGKILL (attempt ${attempt}); resumed: ${resumed}`;
              break;
            }
            const back = attempt % 2 === 1 ? trial.from : trial.to;
            job = await requestMove(platform, {
              tenantId: tenant.id,
              targetTier: back,
              targetServer: back === trial.to ? targetServer : undefined,
              requestedBy: null,
            });
          }
          if (!outcome.startsWith('runner SIGKILL')) throw new Error(outcome);
        } else {
          let faulted = false;
          let terminated: string[] = [];
          let restarted: Promise<void> = Promise.resolve();
          const status = await runMove(platform, job.id, {
            graceMs: 100,
            onPhase: async (phase) => {
              if (phase !== trial.phase || faulted) return;
              faulted = true;
              if (trial.kind === 'move-terminate') terminated = await terminateMoveSessions(superuser, job);
              else {
                await extra.stop();
                restarted = sleep(2000).then(() => extra.start());
              }
            },
          })
            .then((j) => j.status)
            .catch(async (err: Error) => `runner threw (${err.message.slice(0, 80)}); resumed: ${await finishMove(job.id)}`);
          const victims = trial.kind === 'move-terminate' ? ` (${terminated.length} sessions terminated: ${[...new Set(terminated)].join(', ')})` : '';
          outcome = `${faulted ? 'faulted' : 'no fault'}${victims}; ${status}`;
          await restarted;
          await finishMove(job.id);
          // A move that never reached the phase (e.g. refused at prepare) tested nothing.
          if (!faulted) throw new Error(outcome);
        }
      }
      await sleep(300);
      const ledger = await writer.stop();
      writer = undefined;
      const check = checkLedger(ledger, await leadsOf(tenant.id));
      return { trial: trialName(trial), outcome, ...check, served: await served(tenant.id, token), ms: Math.round(performance.now() - began) };
    } catch (err) {
      return {
        trial: trialName(trial),
        outcome: 'error',
        acknowledged: 0,
        lost: 0,
        resurrected: 0,
        duplicated: 0,
        wrong: 0,
        served: false,
        ms: Math.round(performance.now() - began),
        error: (err as Error).message,
      };
    } finally {
      await writer?.stop();
      // The next trial's tenant is provisioned at the repository's version: so must every target be.
      await undoTrialMigrations(superuser).catch((err: Error) => console.error(`undoing trial migrations: ${err.message}`));
      await superuser.end();
    }
  }

  return { platform, extra, base, run };
}
