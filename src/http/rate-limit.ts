/**
 * Per-minute budgets: per tenant and user, per admin, else per address (admin routes apart, so junk
 * logins cannot lock operators out). See docs/security-model.md#requests-and-rate-limits.
 */
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AccessClaims } from '../auth/tokens.js';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Config } from '../config/config.js';
import { tenantSettings } from '../settings/tenant-config.js';
import { type Count, counterStore } from './counter-store.js';
import { AppError, problems } from './problems.js';

const windowMs = 60_000;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: never limited (health probes). */
    rateLimit?: false;
  }
  interface FastifyRequest {
    /** Already counted (e.g. before a wrong password refused it). */
    rateLimitCharged: boolean;
  }
  interface FastifyInstance {
    /** Counts a request authentication refused; the 429 to answer once over budget. */
    countRefusedRequest(request: FastifyRequest, reply: FastifyReply): Promise<AppError | undefined>;
  }
}

/** Keeps installations that share a Redis apart. */
export const rateLimitNamespace = (config: Pick<Config, 'database'>) => `strata:ratelimit:${config.database.prefix}:`;

/** IPv4-mapped IPv6 addresses count as their IPv4 address. */
export const clientAddress = (request: FastifyRequest) => {
  const ip = request.ip;
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
};
const isAdminRoute = (request: FastifyRequest) => request.url.startsWith('/admin');
const addressKey = (request: FastifyRequest) => `${isAdminRoute(request) ? 'admin-ip' : 'ip'}:${clientAddress(request)}`;

interface Budget {
  key: string;
  max: number;
}

export const rateLimitPlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    const { anonymousPerMinute, adminPerMinute, userShare, planOverrides } = config.rateLimit;
    const store = await counterStore(config.redisUrl, rateLimitNamespace(config), app.log);
    app.decorateRequest('rateLimitCharged', false);
    app.addHook('onClose', () => store.close());

    // Per claims object until the tenant row changes: no keys built per request.
    const tenantBudgets = new WeakMap<AccessClaims, { tenant: Tenant; budgets: Budget[] }>();

    function budgets(request: FastifyRequest): Budget[] {
      const tenant = request.tenant as Tenant | null;
      if (tenant) {
        const kept = tenantBudgets.get(request.claims);
        if (kept?.tenant === tenant) return kept.budgets;
        const perMinute = tenantSettings(tenant, planOverrides).limits.requestsPerMinute;
        const budgets = [
          { key: `tenant:${tenant.id}`, max: perMinute },
          { key: `user:${tenant.id}:${request.claims.sub}`, max: Math.max(1, Math.ceil(perMinute * userShare)) },
        ];
        tenantBudgets.set(request.claims, { tenant, budgets });
        return budgets;
      }
      if (request.admin) return [{ key: `admin:${request.admin.id}`, max: adminPerMinute }];
      return [{ key: addressKey(request), max: anonymousPerMinute }];
    }

    async function charge(reply: FastifyReply, spent: Budget[]): Promise<AppError | undefined> {
      const counts = await store.take(
        spent.map((b) => b.key),
        spent.map((b) => b.max),
        windowMs,
      );
      if (!counts) return undefined; // store failed: fail open
      let tightest = 0;
      spent.forEach((b, i) => {
        if (b.max - counts[i]!.count < spent[tightest]!.max - counts[tightest]!.count) tightest = i;
      });
      const { max } = spent[tightest]!;
      const { count, resetMs }: Count = counts[tightest]!;
      const reset = Math.max(1, Math.ceil(resetMs / 1000));
      reply
        .header('x-ratelimit-limit', max)
        .header('x-ratelimit-remaining', Math.max(0, max - count))
        .header('x-ratelimit-reset', reset);
      if (count <= max) return undefined;
      reply.header('retry-after', reset);
      return new AppError(problems.rateLimited, `Rate limit exceeded, retry in ${reset} seconds`);
    }

    // After authentication (onRequest), before validation: malformed requests count too.
    const limit = async (request: FastifyRequest, reply: FastifyReply) => {
      request.rateLimitCharged = true;
      const refusal = await charge(reply, budgets(request));
      if (refusal) throw refusal;
    };
    app.addHook('onRoute', (route) => {
      if (route.config?.rateLimit === false) return;
      route.preValidation = [limit, ...[route.preValidation ?? []].flat()] as typeof route.preValidation;
    });

    app.decorate('countRefusedRequest', async (request: FastifyRequest, reply: FastifyReply) =>
      request.rateLimitCharged ? undefined : charge(reply, [{ key: addressKey(request), max: anonymousPerMinute }]),
    );
  },
  { name: 'strata-rate-limit' },
);
