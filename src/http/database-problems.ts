/**
 * Database failures as the API answers them, translated in this one place whichever path raised
 * them (the router's raw SQL, Prisma's queries, a Prisma transaction): pg's SQLSTATEs and
 * messages, Prisma's codes and the router's own errors. None is the client's fault; all but the
 * statement timeout are worth retrying.
 */
import { isFencedWrite } from '../moves/change-capture.js';
import { statementTimedOut, TenantBusyError } from '../router/tenant-guards.js';
import { databaseUnreachable, driverCause, poolBusy, TenantDatabaseUnreachableError, TenantPoolBusyError } from '../router/tenant-sql.js';
import { AppError, problems } from './problems.js';

/**
 * Prisma's codes for a database that cannot be reached (down, gone, connection dropped): an
 * outage of that tenant's database, not a bug. Other tenants are unaffected and keep being served.
 * A server shutting down or starting up (57P01, 57P03) arrives under other codes (P2010, P2039…),
 * with the SQLSTATE in the driver's cause: those count too, as do pg's own connection errors.
 */
const unreachableCodes = new Set(['P1001', 'P1002', 'P1003', 'P1017']);

type Failure = Error & { code?: unknown; cause?: unknown };

// pg's own "Connection terminated unexpectedly" (no code) is passed on by Prisma's adapter untouched.
const unreachable = (error: Failure) =>
  unreachableCodes.has(String(error.code)) ||
  error instanceof TenantDatabaseUnreachableError ||
  (!!driverCause(error) && databaseUnreachable(driverCause(error))) ||
  (!error.code && databaseUnreachable(error));

/**
 * A statement or transaction that got no connection within STRATA_CONNECTION_WAIT_MS (Prisma's
 * P2028 for transactions, which also covers one that outlived its timeout): the tenant's pool is
 * saturated for now, a transient condition.
 */
const busy = (error: Failure) => error.code === 'P2028' || error instanceof TenantPoolBusyError || (!error.code && poolBusy(error));

/** The tenant guards' refusal of a statement waiting beyond its tenant's cap, thrown as is or under Prisma's error. */
const tenantBusy = (error: Failure) => error instanceof TenantBusyError || error.cause instanceof TenantBusyError;

const retryable = (error: AppError, seconds: number) => Object.assign(error, { retryAfterSeconds: seconds });

interface DatabaseProblem {
  problem: AppError;
  /** Worth an operator's attention: logged at this level with this message. */
  log?: { level: 'warn' | 'error'; message: string };
}

/**
 * The problem a database failure is answered with; undefined when `error` is none.
 * `statementTimeoutMs`: the tenant's timeout, named in the answer to a statement it cut short.
 */
export function databaseProblem(error: Failure, statementTimeoutMs: () => number | null | undefined): DatabaseProblem | undefined {
  if (isFencedWrite(error)) {
    // A tier move's write fence (src/moves/change-capture.ts): reads go on, writes retry shortly.
    return { problem: retryable(new AppError(problems.tenantMoving, 'Writes are paused for a moment while this tenant moves; retry shortly'), 1) };
  }
  if (tenantBusy(error)) {
    const detail = 'This tenant already runs as many database statements at once as its plan allows; retry shortly';
    return { problem: retryable(new AppError(problems.tenantBusy, detail), 1) };
  }
  if (statementTimedOut(error)) {
    // Not retried by clients on their own (no Retry-After): the same request would run as long again.
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
