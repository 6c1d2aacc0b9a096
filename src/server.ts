/**
 * The API process: configuration, logger, listen, graceful shutdown. With no DATABASE_URL it
 * runs on an embedded PostgreSQL whose data stays in .strata/ between runs.
 */
import { pino } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, loadDotEnv } from './config/config.js';

async function main() {
  let config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
  const logger = pino({ level: config.http.logLevel });
  const app = await buildApp({ config, logger });
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  await app.listen({ host: config.http.host, port: config.http.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
