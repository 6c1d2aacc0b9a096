/** Shared start-up of operator scripts: config from the environment, a logger, the platform. */
import { pino } from 'pino';
import { type Config, ConfigError, loadConfig } from '../src/config/config.js';
import { prepareEnvironment } from '../src/config/installation-secrets.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import type { Log } from '../src/platform/log.js';
import { startPlatform, type Platform, type StartOptions } from '../src/platform/platform.js';

export function withPlatform(fn: (platform: Platform) => Promise<number | void>, options?: StartOptions): Promise<never> {
  return run(async (config, log) => {
    const platform = await startPlatform(config, log, options);
    try {
      return await fn(platform);
    } finally {
      await platform.close();
    }
  });
}

/** For commands that need only a server to talk to (no catalog, nothing migrated on start). */
export function withServer(fn: (adminUrl: string) => Promise<number | void>): Promise<never> {
  return run(async (config, log) => {
    const embedded = config.database.url ? undefined : await startEmbeddedPostgres({ ...config.database.embedded, log });
    try {
      return await fn(config.database.url ?? embedded!.url);
    } finally {
      await embedded?.stop();
    }
  });
}

async function run(fn: (config: Config, log: Log) => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    prepareEnvironment();
    code = (await fn(loadConfig(), pino({ level: process.env.LOG_LEVEL ?? 'warn' }))) ?? 0;
  } catch (err) {
    console.error(err instanceof ConfigError || err instanceof UsageError ? err.message : err);
    code = err instanceof ConfigError ? 78 : err instanceof UsageError ? 64 : 1;
  }
  process.exit(code);
}

export class UsageError extends Error {}
