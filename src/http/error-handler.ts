/**
 * Renders every error as problem+json. Known errors keep their code and detail; anything else
 * is logged in full and answered as an opaque 500 (no message, no stack).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { TenantNotFoundError, TenantStateError } from '../admin/tenant-lifecycle.js';
import { UnknownServerError } from '../catalog/server-directory.js';
import { InvalidReferenceError, RecordInUseError, RecordNotFoundError, VersionConflictError } from '../crm/record-errors.js';
import { isFencedWrite } from '../moves/change-capture.js';
import { InvalidCursorError } from '../pagination/keyset-cursor.js';
import { QuotaExceededError } from '../plans/quotas.js';
import { tenantSettings } from '../settings/tenant-config.js';
import { NoTenantBoundError } from '../router/tenant-context.js';
import { statementTimedOut, TenantBusyError } from '../router/tenant-guards.js';
import { databaseUnreachable, driverCause, poolBusy, TenantDatabaseUnreachableError, TenantPoolBusyError } from '../router/tenant-sql.js';
import { TenantExistsError } from '../tenants/provision-tenant.js';
import { EmailTakenError, LastOwnerError } from '../users/user-store.js';
import { AppError, problemBody, problems, type ProblemKind } from './problems.js';
import { apiHeaders } from './security-headers.js';

/**
 * Prisma's codes for a database that cannot be reached (down, gone, connection dropped): an
 * outage of that tenant's database, not a bug. Other tenants are unaffected and keep being served.
 * A server shutting down or starting up (57P01, 57P03) arrives under other codes (P2010, P2039…),
 * with the SQLSTATE in the driver's cause: those count too, as do pg's own connection errors.
 */
const unreachable = new Set(['P1001', 'P1002', 'P1003', 'P1017']);
// pg's own "Connection terminated unexpectedly" (no code) is passed on by Prisma's adapter untouched.
const isUnreachable = (error: FastifyError) =>
  unreachable.has(String(error.code)) ||
  error instanceof TenantDatabaseUnreachableError ||
  (!!driverCause(error) && databaseUnreachable(driverCause(error))) ||
  (!error.code && databaseUnreachable(error));

/**
 * A statement or transaction that got no connection within STRATA_CONNECTION_WAIT_MS (Prisma's
 * P2028 for transactions, which also covers one that outlived its timeout): the tenant's pool is
 * saturated for now, a transient condition.
 */
const isBusy = (error: FastifyError) => error.code === 'P2028' || error instanceof TenantPoolBusyError || (!error.code && poolBusy(error));

/** The tenant guards' refusal of a statement waiting beyond its tenant's cap, thrown as is or under Prisma's error. */
const tenantBusy = (error: FastifyError) => error instanceof TenantBusyError || error.cause instanceof TenantBusyError;

/** Fastify's own client errors (body parsing, size, media type) by their codes. */
const fastifyProblems: Record<string, ProblemKind> = {
  FST_ERR_CTP_INVALID_JSON_BODY: problems.malformedBody,
  FST_ERR_CTP_EMPTY_JSON_BODY: problems.malformedBody,
  FST_ERR_CTP_BODY_TOO_LARGE: problems.payloadTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: problems.unsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: problems.malformedBody,
};

export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler(async (caught: FastifyError, request, reply) => {
    let error = caught;
    // Refused authentications count against the client's rate limit (src/http/rate-limit.ts).
    if (error instanceof AppError && error.problem.status === 401 && app.hasDecorator('countRefusedRequest')) {
      error = ((await app.countRefusedRequest(request, reply)) as FastifyError | undefined) ?? error;
    }
    let body: ReturnType<typeof problemBody>;
    if (error instanceof AppError) {
      body = problemBody(error.problem, error.detail, error.errors, error.extensions);
    } else if (error instanceof RecordNotFoundError) {
      body = problemBody(problems.notFound, `No such ${error.entity}`);
    } else if (error instanceof VersionConflictError) {
      body = problemBody(problems.versionConflict, error.message);
    } else if (error instanceof RecordInUseError) {
      body = problemBody(problems.inUse, `This ${error.entity} is still referenced (e.g. by deals); remove those first`);
    } else if (error instanceof InvalidReferenceError) {
      body = problemBody(problems.invalidRequest, 'Some fields are invalid', [
        { field: `body.${error.field}`, message: 'does not name an existing record' },
      ]);
    } else if (error instanceof EmailTakenError) {
      body = problemBody(problems.emailTaken, error.message);
    } else if (error instanceof LastOwnerError) {
      body = problemBody(problems.lastOwner, error.message);
    } else if (error instanceof QuotaExceededError) {
      body = problemBody(problems.quotaExceeded, error.message, undefined, { resource: error.resource, limit: error.limit });
    } else if (error instanceof TenantNotFoundError) {
      body = problemBody(problems.notFound, 'No such tenant');
    } else if (error instanceof TenantStateError) {
      body = problemBody(problems.tenantState, error.message, undefined, { tenantStatus: error.tenant.status });
    } else if (error instanceof TenantExistsError) {
      body = problemBody(problems.tenantExists, error.message);
    } else if (error instanceof UnknownServerError) {
      body = problemBody(problems.invalidRequest, 'Some fields are invalid', [{ field: 'body.server', message: error.message }]);
    } else if (error instanceof InvalidCursorError) {
      body = problemBody(problems.invalidRequest, 'Some fields are invalid', [{ field: 'querystring.cursor', message: error.message }]);
    } else if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((v) => ({
        field: [error.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'is invalid',
      }));
      body = problemBody(problems.invalidRequest, 'Some fields are invalid', errors);
    } else if (error.code && fastifyProblems[error.code]) {
      body = problemBody(fastifyProblems[error.code]!, error.message);
    } else if (isFencedWrite(error)) {
      // A tier move's write fence (src/moves/change-capture.ts): reads go on, writes retry shortly.
      body = problemBody(problems.tenantMoving, 'Writes are paused for a moment while this tenant moves; retry shortly');
      reply.header('retry-after', '1');
    } else if (tenantBusy(error)) {
      body = problemBody(problems.tenantBusy, 'This tenant already runs as many database statements at once as its plan allows; retry shortly');
      reply.header('retry-after', '1');
    } else if (statementTimedOut(error)) {
      // Not retried by clients on their own (no Retry-After): the same request would run as long again.
      const limit = request.tenant ? tenantSettings(request.tenant, request.server.platform.config.rateLimit.planOverrides).limits.statementTimeoutMs : undefined;
      body = problemBody(problems.statementTimeout, 'The request’s database work ran longer than this tenant’s statement timeout', undefined, limit ? { statementTimeoutMs: limit } : undefined);
    } else if (isBusy(error)) {
      request.log.warn({ err: error }, 'tenant database busy');
      body = problemBody(problems.unavailable, 'This tenant’s database is busy; retry shortly');
      reply.header('retry-after', '1');
    } else if (isUnreachable(error)) {
      request.log.error({ err: error }, 'tenant database unreachable');
      body = problemBody(problems.unavailable, 'This tenant’s data is temporarily unreachable; retry shortly');
      reply.header('retry-after', '5');
    } else if (error instanceof NoTenantBoundError) {
      request.log.error({ err: error }, 'tenant data reached without a tenant binding');
      body = problemBody(problems.internal);
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      body = problemBody({ ...problems.invalidRequest, status: error.statusCode as 400 }, error.message);
    } else {
      request.log.error({ err: error }, 'request failed');
      body = problemBody(problems.internal);
    }
    return reply.status(body.status).type('application/problem+json').send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(problemBody(problems.routeNotFound, `${request.method} ${request.url.split('?')[0]} is not a route`)),
  );
}

/**
 * Fastify's `frameworkErrors`: URLs refused before routing (bad percent-encoding, over-long
 * params) never reach the error handler above, and would otherwise be answered as plain JSON.
 */
export function renderFrameworkError(error: FastifyError, reply: FastifyReply) {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return reply
    .headers(apiHeaders)
    .status(status)
    .type('application/problem+json')
    .send(problemBody({ ...problems.invalidRequest, status: status as 400 }, 'The URL is not valid'));
}

/**
 * Fastify's `clientErrorHandler`: requests the HTTP parser refuses (an unknown method such as TRACK,
 * a request line or headers over Node's limit) are answered on the socket itself, as problem+json
 * with the headers every answer carries rather than Fastify's bare JSON.
 */
export function renderClientError(error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  if (socket.writable) {
    const body = JSON.stringify(problemBody({ ...problems.invalidRequest, status: status as 400 }, status === 431 ? 'The request line or headers are too large' : 'The request could not be read'));
    const headers = { ...apiHeaders, 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), connection: 'close' };
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
