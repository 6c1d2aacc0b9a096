/**
 * Login brute-force limits (docs/security-model.md#requests-and-rate-limits): counted before the
 * password check (parallel guesses cannot slip past), refunded unless wrong. Many addresses only
 * slow an account, never lock its owner out.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/config.js';
import { counterStore } from '../http/counter-store.js';
import { AppError, problems } from '../http/problems.js';
import { clientAddress } from '../http/rate-limit.js';
import { normalizeEmail } from './login-index.js';

const throttled = { 'POST /auth/login': 'tenant', 'POST /admin/auth/login': 'admin' } as const;
const slowedPaceMs = 60_000;

interface Attempt {
  pair: string;
  counted: string[];
}
const attempts = new WeakMap<FastifyRequest, Attempt>();

export const loginThrottlePlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    const limits = config.loginThrottle;
    const windowMs = limits.lockSeconds * 1000;
    // Long timeout: a count given up on lets a guess through uncounted.
    const store = await counterStore(config.redisUrl, `strata:login:${config.database.prefix}:`, app.log, 3_000);
    app.addHook('onClose', () => store.close());

    const refuse = (reply: FastifyReply, resetMs: number) => {
      const seconds = Math.max(1, Math.ceil(resetMs / 1000));
      reply.header('retry-after', seconds);
      return new AppError(problems.loginThrottled, `Too many failed logins; retry in ${seconds} seconds`);
    };

    // Only the login routes (registered after this plugin) get the hooks.
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      const scope = methods.includes('POST') ? throttled[`POST ${route.url}` as keyof typeof throttled] : undefined;
      if (!scope) return;
      const preHandler = async (request: FastifyRequest<{ Body: { email: string } }>, reply: FastifyReply) => {
        const account = `${scope}:${normalizeEmail(request.body.email)}`;
        const from = clientAddress(request);
        const pair = `pair:${account}:${from}`;
        const counted = [pair, `address:${scope}:${from}`, `account:${account}`];
        const counts = await store.add(counted, windowMs);
        if (!counts) return; // store failed: fail open
        const [byPair, byAddress, byAccount] = counts as [(typeof counts)[0], (typeof counts)[0], (typeof counts)[0]];
        const lock = byPair.count > limits.perAccountAddress ? byPair : byAddress.count > limits.perAddress ? byAddress : undefined;
        let slowed;
        if (!lock && byAccount.count > limits.perAccount) {
          const [pace] = (await store.add([`pace:${account}:${from}`], slowedPaceMs)) ?? [];
          if (pace && pace.count > 1) slowed = pace;
        }
        if (lock || slowed) {
          // Refused unchecked: not a guess against the account.
          await store.add([`account:${account}`], windowMs, -1);
          throw refuse(reply, (lock ?? slowed)!.resetMs);
        }
        attempts.set(request, { pair, counted });
      };
      const onSend = async (request: FastifyRequest, reply: FastifyReply) => {
        const attempt = attempts.get(request);
        if (!attempt || reply.statusCode === 401) return; // a wrong password stays counted
        await store.add(
          attempt.counted.filter((key) => key !== attempt.pair),
          windowMs,
          -1,
        );
        await store.remove([attempt.pair]);
      };
      route.preHandler = [...[route.preHandler ?? []].flat(), preHandler] as typeof route.preHandler;
      route.onSend = [...[route.onSend ?? []].flat(), onSend] as typeof route.onSend;
    });
  },
  { name: 'strata-login-throttle' },
);
