import type { BaseLogger } from 'pino';

/** The logging the core needs: pino's or Fastify's logger. */
export type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
