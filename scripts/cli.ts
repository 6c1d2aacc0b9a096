/** Shared start-up of operator scripts: config from the environment, a logger, the platform. */
import { pino } from 'pino';
import { ConfigError, loadConfig, loadDotEnv } from '../src/config/config.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';

export async function withPlatform(fn: (platform: Platform) => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    loadDotEnv();
    const config = loadConfig();
    const platform = await startPlatform(config, pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
    try {
      code = (await fn(platform)) ?? 0;
    } finally {
      await platform.close();
    }
  } catch (err) {
    console.error(err instanceof ConfigError || err instanceof UsageError ? err.message : err);
    code = err instanceof ConfigError ? 78 : err instanceof UsageError ? 64 : 1;
  }
  process.exit(code);
}

export class UsageError extends Error {}
