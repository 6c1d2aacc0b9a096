/** Counts each request served to a tenant, and its latency; flushes on close. */
import fp from 'fastify-plugin';
import type { Tenant } from '../catalog/catalog-client.js';
import { RequestCounter } from './request-counter.js';

declare module 'fastify' {
  interface FastifyInstance {
    requestCounter: RequestCounter;
  }
}

export const usagePlugin = fp(
  async (app) => {
    const counter = new RequestCounter(app.platform.catalog, app.log, app.platform.config.usageFlushMs);
    app.decorate('requestCounter', counter);
    app.addHook('onResponse', (request, reply, done) => {
      // Set by authenticateTenant: requests refused before (bad token, suspended) serve no tenant.
      const tenant = request.tenant as Tenant | null;
      if (tenant) {
        counter.count(tenant.id);
        app.platform.load.request(tenant.id, reply.elapsedTime);
      }
      done();
    });
    app.addHook('onClose', () => counter.close());
  },
  { name: 'strata-usage', dependencies: ['strata-platform'] },
);
