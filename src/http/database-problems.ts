/** Database failures (router SQL or Prisma) as answers: all retryable but the statement timeout. */
import { isFencedWrite } from '../moves/change-capture.js';
import { statementTimedOut, TenantBusyError, TenantDbTimeError } from '../router/tenant-guards.js';
import { databaseUnreachable, driverCause, poolBusy, TenantDatabaseUnreachableError, TenantPoolBusyError } from '../router/tenant-sql.js';
import { AppError, problems } from './problems.js';

/** Prisma's unreachable codes; 57P01/57P03 come under others, SQLSTATE in the driver's cause. */
const unreachableCodes = new Set(['P1001', 'P1002', 'P1003', 'P1017']);

type Failure = Error & { code?: unknown; cause?: unknown };

// pg's "Connection terminated unexpectedly" (no code) passes Prisma's adapter untouched.
const unreachable = (error: Failure) =>
  unreachableCodes.has(String(error.code)) ||
  error instanceof TenantDatabaseUnreachableError ||
  (!!driverCause(error) && databaseUnreachable(driverCause(error))) ||
  (!error.code && databaseUnreachable(error));

/** No connection within STRATA_CONNECTION_WAIT_MS (P2028 also: a transaction past its timeout). */
const busy = (error: Failure) => error.code === 'P2028' || error instanceof TenantPoolBusyError || (!error.code && poolBusy(error));

const tenantBusy = (error: Failure) => error instanceof TenantBusyError || error.cause instanceof TenantBusyError;

const dbTimeUsed = (error: Failure) => [error, error.cause].find((e): e is TenantDbTimeError => e instanceof TenantDbTimeError);

const retryable = (error: AppError, seconds: number) => Object.assign(error, { retryAfterSeconds: seconds });

interface DatabaseProblem {
  problem: AppError;
  log?: { level: 'warn' | 'error'; message: string };
}

export function databaseProblem(error: Failure, statementTimeoutMs: () => number | null | undefined): DatabaseProblem | undefined {
  if (isFencedWrite(error)) {
    return { problem: retryable(new AppError(problems.tenantMoving, 'Writes are paused for a moment while this tenant moves; retry shortly'), 1) };
  }
  if (tenantBusy(error)) {
    const detail = 'This tenant already runs as many database statements at once as its plan allows; retry shortly';
    return { problem: retryable(new AppError(problems.tenantBusy, detail), 1) };
  }
  const overdrawn = dbTimeUsed(error);
  if (overdrawn) {
    const detail = `This tenant used its share of database time (${overdrawn.msPerSecond} ms per second); retry after the time given`;
    const extra = { dbTimeMsPerSecond: overdrawn.msPerSecond };
    return { problem: retryable(new AppError(problems.tenantDbTime, detail, undefined, extra), Math.ceil(overdrawn.retryAfterMs / 1000)) };
  }
  if (statementTimedOut(error)) {
    // No Retry-After: the same request would run as long again.
    const limit = statementTimeoutMs();
    const detail = 'The request’s database work ran longer than this tenant’s statement timeout';
    return { problem: new AppError(problems.statementTimeout, detail, undefined, limit ? { statementTimeoutMs: limit } : undefined) };
  }
  if (busy(error)) {
    const problem = retryable(new AppError(problems.unavailable, 'This tenant’s database is busy; retry shortly'), 1);
    return { problem, log: { level: 'warn', message: 'tenant database busy' } };
  }
  if (unreachable(error)) {
    const problem = retryable(new AppError(problems.unavailable, 'This tenant’s data is temporarily unreachable; retry shortly'), 5);
    return { problem, log: { level: 'error', message: 'tenant database unreachable' } };
  }
  return undefined;
}
