/**
 * HTTP series. Labels are bounded (route templates, never URLs or tenant ids), so the series count
 * does not grow with traffic.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Tenant } from '../catalog/catalog-client.js';
import { AppError, problems } from '../http/problems.js';
import { TallyCounter, TallyHistogram } from './tallies.js';

const authProblems = new Set<string>([problems.unauthenticated.code, problems.invalidCredentials.code, problems.refreshRejected.code]);
const failures = new WeakMap<FastifyRequest, string>();

export function installHttpMetrics(app: FastifyInstance, registry: Registry) {
  const labelNames = ['route', 'method', 'status_class', 'tier'] as const;
  const requests = new TallyCounter({ name: 'strata_http_requests_total', help: 'HTTP requests answered', labelNames, registry });
  const duration = new TallyHistogram({
    name: 'strata_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  });
  const rateLimited = new Counter({
    name: 'strata_rate_limit_rejections_total',
    help: 'Requests refused with 429 by the rate limiter',
    labelNames: ['scope'],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'strata_auth_failures_total',
    help: 'Requests refused for missing or wrong credentials (bad tokens, wrong passwords, rejected refresh tokens)',
    labelNames: ['route', 'code'],
    registers: [registry],
  });

  // Callback-style hooks: no promise per request.
  app.addHook('onError', (request, _reply, error, done) => {
    if (error instanceof AppError) failures.set(request, error.problem.code);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const tier = (request.tenant as Tenant | null)?.tier ?? 'none';
    const labels = [route, request.method, `${Math.floor(reply.statusCode / 100)}xx`, tier];
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    const code = failures.get(request);
    if (code === problems.rateLimited.code) rateLimited.inc({ scope: tier === 'none' ? 'address' : 'tenant' });
    else if (code && authProblems.has(code)) authFailures.inc({ route, code });
    done();
  });
}
