/** Per-tenant load for platform admins, from the catalog's windows: a tenant's, the fleet's, the top. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, problems } from '../http/problems.js';
import { tiers } from '../tenants/placement.js';
import { duration } from './duration.js';
import { latencyQuantileMs, type LoadFigures, loadSeries, loadTotals } from './load-totals.js';

// Also imported from here (src/recommendations).
export { duration };

const usageQuery = z.object({ span: duration.optional(), step: duration.optional() }).strict();
const rankings = ['dbTime', 'requests', 'statements', 'rowsWritten', 'storage'] as const;
const topQuery = z
  .object({ by: z.enum(rankings).default('dbTime'), window: duration.optional(), limit: z.coerce.number().int().min(1).max(100).default(10) })
  .strict();

const figures = z.object({
  requests: z.number().int(),
  meanMs: z.number().nullable(),
  /** A bucket's upper bound (latencyQuantileMs). */
  p99Ms: z.number().nullable(),
  dbTimeMs: z.number(),
  statements: z.number().int(),
  rowsWritten: z.number().int(),
  guardRejections: z.number().int(),
  rowsTotal: z.number().int().nullable(),
  storageBytes: z.number().int().nullable(),
});
const series = z.object({
  tenantId: z.uuid(),
  windowMs: z.number().int(),
  stepMs: z.number().int(),
  points: z.array(figures.extend({ start: z.string() })),
});
/** No footprints: a sum of each tenant's latest measure would mean nothing. */
const fleetSeries = z.object({
  windowMs: z.number().int(),
  stepMs: z.number().int(),
  points: z.array(figures.omit({ rowsTotal: true, storageBytes: true }).extend({ start: z.string() })),
});
const top = z.object({
  by: z.enum(rankings),
  windowMs: z.number().int(),
  items: z.array(figures.extend({ tenantId: z.uuid(), slug: z.string(), tier: z.enum(tiers), serverId: z.uuid() })),
});

export function publicFigures(f: LoadFigures): z.infer<typeof figures> {
  return {
    requests: f.requests,
    meanMs: f.requests ? f.requestMs / f.requests : null,
    p99Ms: latencyQuantileMs(f.latency, 0.99),
    dbTimeMs: f.dbTimeMs,
    statements: f.statements,
    rowsWritten: f.rowsWritten,
    guardRejections: f.guardRejections,
    rowsTotal: f.rowsTotal,
    storageBytes: f.storageBytes,
  };
}

const rankValue: Record<(typeof rankings)[number], (f: LoadFigures) => number> = {
  dbTime: (f) => f.dbTimeMs,
  requests: (f) => f.requests,
  statements: (f) => f.statements,
  rowsWritten: (f) => f.rowsWritten,
  storage: (f) => f.storageBytes ?? -1,
};

const invalid = (field: string, message: string) => new AppError(problems.invalidRequest, 'Some fields are invalid', [{ field, message }]);

export const usageRoutes: FastifyPluginAsyncZod = async (app) => {
  const { catalog, config } = app.platform;
  const { windowMs, retentionMs } = config.usage;
  const checkSpan = (field: string, ms: number) => {
    if (ms > retentionMs) throw invalid(field, `at most the retention, ${retentionMs / 3_600_000}h`);
  };

  /** The last step is the one under way. */
  const stepsOf = (query: z.infer<typeof usageQuery>) => {
    const span = query.span ?? 3_600_000;
    const stepMs = query.step ?? windowMs;
    checkSpan('querystring.span', span);
    if (stepMs % windowMs !== 0) throw invalid('querystring.step', `a multiple of the window length, ${windowMs} ms`);
    if (span / stepMs > 1500) throw invalid('querystring.step', 'at most 1500 steps per span');
    const toMs = Math.floor(Date.now() / stepMs) * stepMs + stepMs;
    return { fromMs: toMs - Math.ceil(span / stepMs) * stepMs, toMs, stepMs };
  };

  app.get(
    '/admin/tenants/:id/usage',
    { schema: { params: z.object({ id: z.uuid() }).strict(), querystring: usageQuery, response: { 200: series } } },
    async (request) => {
      const { fromMs, toMs, stepMs } = stepsOf(request.query);
      const tenant = await catalog.tenant.findUnique({ where: { id: request.params.id }, select: { id: true } });
      if (!tenant) throw new AppError(problems.notFound, 'No such tenant');
      const steps = await loadSeries(catalog, tenant.id, fromMs, toMs, stepMs);
      return { tenantId: tenant.id, windowMs, stepMs, points: steps.map((s) => ({ start: new Date(s.startMs).toISOString(), ...publicFigures(s.figures) })) };
    },
  );

  app.get('/admin/usage/fleet', { schema: { querystring: usageQuery, response: { 200: fleetSeries } } }, async (request) => {
    const { fromMs, toMs, stepMs } = stepsOf(request.query);
    const steps = await loadSeries(catalog, undefined, fromMs, toMs, stepMs);
    return {
      windowMs,
      stepMs,
      points: steps.map((s) => {
        const { rowsTotal: _rows, storageBytes: _storage, ...load } = publicFigures(s.figures);
        return { start: new Date(s.startMs).toISOString(), ...load };
      }),
    };
  });

  app.get('/admin/usage/top', { schema: { querystring: topQuery, response: { 200: top } } }, async (request) => {
    const { by, limit } = request.query;
    const span = request.query.window ?? 3_600_000;
    checkSpan('querystring.window', span);
    const totals = await loadTotals(catalog, Date.now() - span);
    const ranked = [...totals]
      .filter(([, f]) => rankValue[by](f) > 0)
      .sort(([, a], [, b]) => rankValue[by](b) - rankValue[by](a))
      .slice(0, limit);
    const tenants = await catalog.tenant.findMany({
      where: { id: { in: ranked.map(([id]) => id) } },
      select: { id: true, slug: true, tier: true, serverId: true },
    });
    const byId = new Map(tenants.map((t) => [t.id, t]));
    const items = ranked.flatMap(([id, f]) => {
      const t = byId.get(id);
      return t ? [{ tenantId: id, slug: t.slug, tier: t.tier, serverId: t.serverId, ...publicFigures(f) }] : [];
    });
    return { by, windowMs: span, items };
  });
};
