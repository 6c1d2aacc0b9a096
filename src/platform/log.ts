import type { BaseLogger } from 'pino';

/** The logging the core needs; satisfied by pino and by Fastify's logger. */
export type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
