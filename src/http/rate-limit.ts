/**
 * Rate limits, per minute. A tenant request counts against its tenant — all of the tenant's
 * users share one budget — at its plan's limit (src/plans/plan-limits.ts) or its config's; any other request
 * (health, docs, login) counts against its client IP at STRATA_RATE_LIMIT_ANON_PER_MINUTE.
 * A refused request is a 429 problem with Retry-After; every counted one carries X-RateLimit-*.
 *
 * With REDIS_URL the counters live in Redis, shared by every instance, under
 * `strata:ratelimit:<db prefix>:` + `tenant:<id>` or `ip:<address>`; without it each process
 * counts for itself.
 */
import { once } from 'node:events';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Config } from '../config/config.js';
import { tenantSettings } from '../settings/tenant-config.js';
import { AppError, problems } from './problems.js';

const windowMs = 60_000;

/** The Redis key prefix: the database prefix keeps installations that share a Redis apart. */
export const rateLimitNamespace = (config: Pick<Config, 'database'>) => `strata:ratelimit:${config.database.prefix}:`;

// Set by app.authenticateTenant (an onRequest hook) on tenant routes; absent on the others.
const tenantOf = (request: FastifyRequest) => request.tenant as Tenant | undefined;

/** The counter a request draws on: its tenant's, or its client IP's when it serves no tenant. */
export function rateLimitKey(request: FastifyRequest): string {
  const tenant = tenantOf(request);
  return tenant ? `tenant:${tenant.id}` : `ip:${normalizeIP(request.ip)}`;
}

export const rateLimitPlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    const { anonymousPerMinute, planOverrides } = config.rateLimit;
    const redis = config.redisUrl ? await connect(config.redisUrl, app.log) : undefined;
    if (redis) app.addHook('onClose', () => redis.quit().then(() => undefined, () => redis.disconnect()));

    await app.register(fastifyRateLimit, {
      // After onRequest, where tenant routes authenticate (so the tenant is known), and before
      // validation (so malformed requests count too). Requests refused by authentication are not
      // counted: they never reach this hook.
      hook: 'preValidation',
      timeWindow: windowMs,
      keyGenerator: rateLimitKey,
      max: (request) => {
        const tenant = tenantOf(request);
        return tenant ? tenantSettings(tenant, planOverrides).limits.requestsPerMinute : anonymousPerMinute;
      },
      redis,
      nameSpace: rateLimitNamespace(config),
      // When Redis fails, requests are served uncounted (fail open) rather than refused: limits
      // share capacity fairly between tenants, they guard no data, and an API down because its
      // limiter's store is down is worse than a few unmetered minutes. (Per-process counters as
      // a fallback would still multiply every limit by the number of instances.)
      skipOnError: true,
      // Counters kept in process without Redis; the least recently used go first when full.
      cache: 20_000,
      errorResponseBuilder: (_request, context) =>
        new AppError(problems.rateLimited, `Rate limit exceeded, retry in ${context.after}`),
    });
  },
  { name: 'strata-rate-limit' },
);

async function connect(url: string, log: FastifyBaseLogger): Promise<Redis> {
  // No offline queue and a short command timeout: while Redis is away or slow, a check fails at
  // once (and is skipped, see skipOnError) instead of holding the request. ioredis reconnects.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 500 });
  redis.on('error', (err) => log.warn({ err }, 'rate limit redis error'));
  // Boot waits for the first connection so counting starts with the first request, but goes on
  // without it: an unreachable Redis must not keep the API from starting.
  await once(redis, 'ready').catch(() => log.warn('rate limit redis unreachable at boot; requests are not counted until it answers'));
  return redis;
}
