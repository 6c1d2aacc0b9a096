/** Every error as problem+json; unknown ones are logged and answered as an opaque 500. */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { tenantSettings } from '../settings/tenant-config.js';
import { databaseProblem } from './database-problems.js';
import { AppError, problemBody, problems, type ProblemKind } from './problems.js';
import { apiHeaders } from './security-headers.js';

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
    // 401s count against the client's rate limit.
    if (error instanceof AppError && error.problem.status === 401 && app.hasDecorator('countRefusedRequest')) {
      error = ((await app.countRefusedRequest(request, reply)) as FastifyError | undefined) ?? error;
    }
    const problem = error instanceof AppError ? error : asProblem(error, request);
    if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds));
    const body = problemBody(problem.problem, problem.detail, problem.errors, problem.extensions);
    return reply.status(body.status).type('application/problem+json').send(body);
  });

  function asProblem(error: FastifyError, request: FastifyRequest): AppError {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((v) => ({
        field: [error.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'is invalid',
      }));
      return new AppError(problems.invalidRequest, 'Some fields are invalid', errors);
    }
    if (error.code && fastifyProblems[error.code]) return new AppError(fastifyProblems[error.code]!, error.message);
    const timeoutOf = () => request.tenant && tenantSettings(request.tenant, request.server.platform.config.rateLimit.planOverrides).limits.statementTimeoutMs;
    const database = databaseProblem(error, timeoutOf);
    if (database) {
      if (database.log) request.log[database.log.level]({ err: error }, database.log.message);
      return database.problem;
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return new AppError({ ...problems.invalidRequest, status: error.statusCode as 400 }, error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return new AppError(problems.internal);
  }

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(problemBody(problems.routeNotFound, `${request.method} ${request.url.split('?')[0]} is not a route`)),
  );
}

/** Fastify's `frameworkErrors`: URLs refused before routing. */
export function renderFrameworkError(error: FastifyError, reply: FastifyReply) {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return reply
    .headers(apiHeaders)
    .status(status)
    .type('application/problem+json')
    .send(problemBody({ ...problems.invalidRequest, status: status as 400 }, 'The URL is not valid'));
}

/** Fastify's `clientErrorHandler`: answers on the socket what the HTTP parser refuses. */
export function renderClientError(error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  if (socket.writable) {
    const body = JSON.stringify(
      problemBody(
        { ...problems.invalidRequest, status: status as 400 },
        status === 431 ? 'The request line or headers are too large' : 'The request could not be read',
      ),
    );
    const headers = { ...apiHeaders, 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), connection: 'close' };
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\r\n')}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
