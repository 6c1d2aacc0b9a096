/**
 * POST /admin/rebalance: the plan of `npm run rebalance` or, with dryRun false, its run in this
 * instance's background (202; its moves are resumable jobs). GET: this instance's run. Admins only.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, problems } from '../http/problems.js';
import { tiers } from '../tenants/placement.js';
import { duration } from '../usage/duration.js';
import { applyRebalance } from './apply-rebalance.js';
import { defaultWindowMs, MeasureUnavailableError, measures, planRebalance } from './rebalance-plan.js';

const rebalanceBody = z
  .object({
    by: z.enum(measures).default('tenants'),
    maxMoves: z.number().int().min(0).max(10_000).default(20),
    tolerance: z.number().min(0).max(10).default(0.1),
    /** dbTime, e.g. `1h`. */
    window: duration.optional(),
    concurrency: z.number().int().min(1).max(16).default(2),
    dryRun: z.boolean().default(true),
  })
  .strict();

const share = z.object({ server: z.string(), weight: z.number().int(), value: z.number(), target: z.number() });
const planView = z.object({
  by: z.enum(measures),
  windowMs: z.number().int().nullable(),
  tolerance: z.number(),
  moves: z.array(z.object({ tenantId: z.uuid(), slug: z.string(), tier: z.enum(tiers), from: z.string(), to: z.string(), size: z.number() })),
  before: z.array(share),
  after: z.array(share),
  spreadBefore: z.number(),
  spreadAfter: z.number(),
  stopped: z.enum(['balanced', 'no-helpful-move', 'max-moves', 'too-few-servers']),
  dryRun: z.boolean(),
});
const lastRun = z.object({
  moved: z.number().int(),
  failed: z.array(z.object({ tenant: z.string(), error: z.string().nullable() })),
  ms: z.number().int(),
  error: z.string().nullable(),
});
const runView = z.object({ running: z.boolean(), lastRun: lastRun.nullable() });

export const rebalanceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { platform } = app;
  const run = { running: false, abort: new AbortController(), done: Promise.resolve(), lastRun: null as z.infer<typeof lastRun> | null };
  app.addHook('onClose', async () => {
    run.abort.abort(new Error('the process is shutting down'));
    await run.done;
  });

  app.post('/admin/rebalance', { schema: { body: rebalanceBody, response: { 200: planView, 202: planView } } }, async (request, reply) => {
    const { by, maxMoves, tolerance, concurrency, dryRun } = request.body;
    const windowMs = request.body.window ?? defaultWindowMs;
    const { retentionMs } = platform.config.usage;
    if (windowMs > retentionMs) {
      throw new AppError(problems.invalidRequest, 'Some fields are invalid', [
        { field: 'body.window', message: `at most the usage retention, ${retentionMs / 3_600_000}h` },
      ]);
    }
    if (!dryRun && run.running) throw new AppError(problems.rebalanceRunning, 'Wait for it (GET /admin/rebalance) before starting another');
    // Claimed before planning, so two requests at once cannot both start one.
    if (!dryRun) run.running = true;
    const plan = await planRebalance(platform, { by, maxMoves, tolerance, windowMs }).catch((err: unknown) => {
      if (!dryRun) run.running = false;
      throw err instanceof MeasureUnavailableError ? new AppError(problems.rebalanceUnmeasured, err.message) : err;
    });
    const view = { ...plan, windowMs: by === 'dbTime' ? windowMs : null, dryRun };
    if (dryRun) return reply.status(200).send(view);
    if (!plan.moves.length) {
      run.running = false;
      return reply.status(200).send(view);
    }

    run.abort = new AbortController();
    const started = performance.now();
    run.done = applyRebalance(platform, plan, { concurrency, actor: request.admin.id, windowMs, signal: run.abort.signal })
      .then((outcome) => {
        run.lastRun = {
          moved: outcome.moved,
          failed: outcome.failed.map((f) => ({ tenant: f.tenant, error: f.error ?? null })),
          ms: Math.round(performance.now() - started),
          error: null,
        };
      })
      .catch((err: unknown) => {
        app.log.error({ err }, 'rebalance stopped');
        run.lastRun = { moved: 0, failed: [], ms: Math.round(performance.now() - started), error: (err as Error).message };
      })
      .finally(() => (run.running = false));
    return reply.status(202).header('location', '/admin/rebalance').send(view);
  });

  app.get('/admin/rebalance', { schema: { response: { 200: runView } } }, async () => ({ running: run.running, lastRun: run.lastRun }));
};
