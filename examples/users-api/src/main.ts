// The server process: configuration from the environment, listen, and graceful shutdown.
import type { FastifyInstance } from 'fastify';
import { buildApp, warmUp } from './app.ts';
import { LISTENING, readConfigOrExit } from './config.ts';
import { closeWorkerPool } from './db/store.ts';

const config = readConfigOrExit();
// Connections this process opens for requests: an async driver's pool (mysql2, pg); for a
// synchronous driver, smartasync's worker threads, one connection each (README: Several processes).
// The workers run below the event loop (config.ts: WORKER_NICE).
(await import('smartasync')).configure({
  ...(config.DB_POOL_SIZE === undefined ? {} : { size: config.DB_POOL_SIZE }),
  workerNice: config.DB_WORKER_NICE,
});

let app: FastifyInstance | undefined;
try {
  app = await buildApp({
    databaseUrl: config.DATABASE_URL,
    mode: config.DATA_MODE,
    reportCost: config.REPORT_COST,
    databaseTimeoutMs: config.DB_TIMEOUT_MS,
    log: { level: config.LOG_LEVEL, slowQueryMs: config.DB_SLOW_QUERY_MS },
    poolSize: config.DB_POOL_SIZE,
    logger: { level: config.LOG_LEVEL },
    httpTimeouts: {
      headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
      idleMs: config.HTTP_IDLE_TIMEOUT_MS,
      keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
  });
  await warmUp(app);
  await app.listen({ host: config.HOST, port: config.PORT });
  // Under src/cluster.ts: this process has started (a failure from here on is not a start failure).
  process.send?.(LISTENING);
} catch (error) {
  // fetch() says only "fetch failed": what failed is in its cause.
  const cause = (error as Error).cause as Error | undefined;
  console.error(`users-api failed to start: ${(error as Error).message}${cause ? ` (${cause.message ?? cause})` : ''}`);
  await app?.close();
  await closeWorkerPool();
  process.exit(1);
}
const server = app;
const shutdownTimeoutMs = config.SHUTDOWN_TIMEOUT_MS;

let stopping = false;
// process.exit() ends the worker threads too, whatever they are blocked in: the vendored
// libpq aborts its blocking waits when the process exits (vendor/libpq/README.md).
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    server.log.warn(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  server.log.info(`${signal}: finishing in-flight requests, then closing`);
  setTimeout(() => {
    server.log.error(`still busy after ${shutdownTimeoutMs} ms: exiting`);
    process.exit(1);
  }, shutdownTimeoutMs).unref();
  // Stops accepting, waits for in-flight requests, then releases the workers' connections
  // (onClose hook); the pool goes last, once nothing can call it any more.
  await server.close();
  await closeWorkerPool();
  server.log.info('closed');
  // Under src/cluster.ts the channel to the primary would keep this process alive.
  if (process.connected) process.disconnect();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
