/**
 * Metrics: metricsPlugin (registered before the routes it measures) and GET /metrics, for a scraper
 * holding STRATA_METRICS_TOKEN or a platform admin; never public. Each app has its own registry:
 * apps may share a process in tests and scripts.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { authenticateAdmin } from '../admin/admin-auth.js';
import { installCatalogMetrics } from './catalog-metrics.js';
import { installFleetGauges } from './fleet-gauges.js';
import { installHttpMetrics } from './http-metrics.js';
import { installRouterMetrics } from './router-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const sameSecret = (given: string, expected: string) => {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
};

export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'strata_' });
    installHttpMetrics(app, registry);
    installFleetGauges(registry, app.platform.catalog);
    installCatalogMetrics(registry, app.platform.tenants);
    const stopObserving = installRouterMetrics(registry, app.platform.router, app.platform.servers);
    app.addHook('onClose', async () => stopObserving());
    app.decorate('metrics', registry);
  },
  { name: 'strata-metrics', dependencies: ['strata-platform', 'strata-admin-auth'] },
);

/** The scrape route; registered after the docs plugin so /docs lists it. */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const registry = app.metrics;
  const scrapeToken = app.platform.config.metrics.token;
  const authenticateScraper = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (scrapeToken && given && sameSecret(given, scrapeToken)) return;
    await authenticateAdmin(request, reply);
  };
  const schema = { summary: 'Prometheus metrics, for STRATA_METRICS_TOKEN or a platform admin', produces: [registry.contentType] };
  app.get('/metrics', { onRequest: authenticateScraper, schema }, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
};
