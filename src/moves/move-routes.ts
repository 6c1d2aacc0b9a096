/** Tier moves for platform admins: request (202, run in this process), watch, cancel, history. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError, problems } from '../http/problems.js';
import { moveEvents } from './move-events.js';
import { MoveRefusedError, requestCancel, requestMove, tenantMoves } from './move-jobs.js';
import { jobParams, moveList, moveRequestBody, moveView, tenantParams, toMoveView } from './move-schemas.js';
import { MoveWorker } from './move-worker.js';

/** The core's refusals as HTTP problems. */
function asProblem(err: unknown): never {
  if (!(err instanceof MoveRefusedError)) throw err;
  if (err.reason === 'not-found') throw new AppError(problems.notFound, err.message);
  if (err.reason === 'conflict') throw new AppError(problems.moveConflict, err.message);
  throw new AppError(problems.invalidRequest, 'Some fields are invalid', [{ field: 'body', message: err.message }]);
}

export const moveRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;
  const worker = new MoveWorker(platform);
  app.addHook('onReady', async () => {
    await worker.resumeUnfinished();
    worker.adoptOrphans();
  });
  app.addHook('onClose', () => worker.close());
  // Progress streams end when the app closes; otherwise close() would wait for their clients.
  const streams = new AbortController();
  app.addHook('preClose', async () => streams.abort());

  app.post('/admin/tenants/:id/moves', { schema: { params: tenantParams, body: moveRequestBody, response: { 202: moveView } } }, async (request, reply) => {
    const job = await requestMove(platform, { tenantId: request.params.id, ...request.body, requestedBy: request.admin.id }).catch(asProblem);
    worker.start(job.id);
    return reply.status(202).header('location', `/admin/moves/${job.id}`).send(toMoveView(job));
  });

  app.get('/admin/tenants/:id/moves', { schema: { params: tenantParams, response: { 200: moveList } } }, async (request) => {
    const tenant = await platform.catalog.tenant.findUnique({ where: { id: request.params.id }, select: { id: true } });
    if (!tenant) throw new AppError(problems.notFound, 'No such tenant');
    return { items: (await tenantMoves(platform.catalog, tenant.id)).map(toMoveView) };
  });

  app.get('/admin/moves/:jobId', { schema: { params: jobParams, response: { 200: moveView } } }, async (request) => {
    const job = await platform.catalog.tenantMove.findUnique({ where: { id: request.params.jobId } });
    if (!job) throw new AppError(problems.notFound, 'No such move');
    return toMoveView(job);
  });

  app.get(
    '/admin/moves/:jobId/events',
    {
      schema: {
        params: jobParams,
        description:
          'The job as Server-Sent Events (text/event-stream): a `move` event with the job (as GET /admin/moves/{jobId}) each time it changes; the stream ends once the job has finished.',
      },
    },
    async (request, reply) => {
      const job = await platform.catalog.tenantMove.findUnique({ where: { id: request.params.jobId }, select: { id: true } });
      if (!job) throw new AppError(problems.notFound, 'No such move');
      const stop = AbortSignal.any([streams.signal, closedWith(reply.raw)]);
      return reply
        .type('text/event-stream; charset=utf-8')
        .header('x-accel-buffering', 'no')
        .send(Readable.from(moveEvents(platform.catalog, job.id, { signal: stop })));
    },
  );

  app.post('/admin/moves/:jobId/cancel', { schema: { params: jobParams, response: { 202: moveView } } }, async (request, reply) => {
    const job = await requestCancel(platform.catalog, request.params.jobId, request.admin.id).catch(asProblem);
    // A job no process runs (its runner died) is rolled back here.
    worker.start(job.id);
    return reply.status(202).send(toMoveView(job));
  });
};

/** Aborted when the response closes: finished, or its client went away. */
function closedWith(raw: NodeJS.EventEmitter): AbortSignal {
  const gone = new AbortController();
  raw.once('close', () => gone.abort());
  return gone.signal;
}
