// The server process: configuration from the environment, listen, and graceful shutdown.
import type { FastifyInstance } from 'fastify';
import { buildApp, warmUp } from './app.ts';
import { closeWorkerPool, type DataMode } from './db/store.ts';

function positiveInteger<T>(name: string, fallback: T, unit = 'milliseconds'): number | T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    console.error(`${name} must be a positive whole number of ${unit}, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const SHUTDOWN_TIMEOUT_MS = positiveInteger('SHUTDOWN_TIMEOUT_MS', 10_000);
const DB_TIMEOUT_MS = positiveInteger('DB_TIMEOUT_MS', 5_000);
// Connections this process opens for requests: an async driver's pool (mysql2, pg); for a
// synchronous driver, smartasync's worker threads, one connection each (README: Several processes).
const DB_POOL_SIZE = positiveInteger('DB_POOL_SIZE', undefined, 'connections');
if (DB_POOL_SIZE !== undefined) (await import('smartasync')).configure({ size: DB_POOL_SIZE });

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8000);
const mode = (process.env.DATA_MODE ?? 'smartasync') as DataMode;
if (mode !== 'smartasync' && mode !== 'smartasync-auto' && mode !== 'inline') {
  console.error(`DATA_MODE must be smartasync, smartasync-auto or inline, not ${JSON.stringify(mode)}`);
  process.exit(2);
}

let app: FastifyInstance | undefined;
try {
  app = await buildApp({
    databaseUrl: process.env.DATABASE_URL,
    mode,
    reportCost: process.env.REPORT_COST ? Number(process.env.REPORT_COST) : undefined,
    databaseTimeoutMs: DB_TIMEOUT_MS,
    poolSize: DB_POOL_SIZE,
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
  });
  await warmUp(app);
  await app.listen({ host, port });
} catch (error) {
  console.error(`users-api failed to start: ${(error as Error).message}`);
  await app?.close();
  await closeWorkerPool();
  process.exit(1);
}
const server = app;

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
    server.log.error(`still busy after ${SHUTDOWN_TIMEOUT_MS} ms: exiting`);
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
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
