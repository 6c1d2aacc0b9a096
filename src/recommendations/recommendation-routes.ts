/** GET /admin/recommendations: tenants that should move now (tier-advice.ts). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, problems } from '../http/problems.js';
import { moveRequestBody } from '../moves/move-schemas.js';
import { tiers } from '../tenants/placement.js';
import { duration } from '../usage/usage-routes.js';
import { currentRecommendations } from './recommendations.js';
import { signals } from './tier-advice.js';

const directions = ['up', 'down'] as const;

const recommendationsQuery = z
  .object({
    /** Default STRATA_ADVICE_WINDOW_MS. */
    window: duration.optional(),
    direction: z.enum(directions).optional(),
  })
  .strict();

const evidence = z.object({
  signal: z.enum(signals),
  value: z.number(),
  threshold: z.number(),
  crossed: z.enum(['above', 'below']),
  unit: z.string(),
});

const recommendation = z.object({
  tenantId: z.uuid(),
  slug: z.string(),
  direction: z.enum(directions),
  current: z.object({ tier: z.enum(tiers), server: z.string() }),
  suggested: z.object({ tier: z.enum(tiers), server: z.string().nullable() }),
  evidence: z.array(evidence),
  /** A POST /admin/tenants/{id}/moves body; null when blocked. */
  move: moveRequestBody.required().nullable(),
  blocked: z.string().nullable(),
});

const recommendations = z.object({ windowMs: z.number().int(), evaluatedAt: z.string(), items: z.array(recommendation) });

export const recommendationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { catalog, config } = app.platform;

  app.get(
    '/admin/recommendations',
    {
      schema: {
        querystring: recommendationsQuery,
        response: { 200: recommendations },
        description:
          'Tenants to move up (pooled → schema → dedicated, or a dedicated one to a less loaded server) or down (a dedicated tenant that idles), from their load over the window, each with the signals it crossed and the move request that carries it out.',
      },
    },
    async (request) => {
      const windowMs = request.query.window ?? config.advice.windowMs;
      if (windowMs > config.usage.retentionMs) {
        throw new AppError(problems.invalidRequest, 'Some fields are invalid', [
          { field: 'querystring.window', message: `at most the retention, ${config.usage.retentionMs / 3_600_000}h` },
        ]);
      }
      const nowMs = Date.now();
      const items = await currentRecommendations(
        { catalog, thresholds: config.advice.thresholds, planOverrides: config.rateLimit.planOverrides },
        windowMs,
        nowMs,
      );
      return {
        windowMs,
        evaluatedAt: new Date(nowMs).toISOString(),
        items: request.query.direction ? items.filter((r) => r.direction === request.query.direction) : items,
      };
    },
  );
};
