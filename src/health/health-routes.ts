/** Readiness: the catalog and default server answer. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, problems } from '../http/problems.js';

const status = z.object({ status: z.literal('ok') });

// A load balancer polling from one address must never get a 429.
const probe = { rateLimit: false } as const;

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', { config: probe, schema: { response: { 200: status } } }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { config: probe, schema: { response: { 200: status } } }, async (request) => {
    try {
      await app.platform.ping();
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      throw new AppError(problems.unavailable, 'A database is not reachable');
    }
    return { status: 'ok' as const };
  });
};
