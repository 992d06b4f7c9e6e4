// Several server processes on one port: Node's cluster module forks WEB_CONCURRENCY copies of
// src/main.ts (default: one per core), and the primary hands them connections in turn. The app
// keeps no state of its own between requests (it is all in the database), so any process can
// answer any request; each process has its own worker threads and its own connections, which is
// what to count against the database's connection limit (README: Several processes).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { LISTENING, readConfigOrExit } from './config.ts';

if (cluster.isPrimary) {
  // All of it, not only WEB_CONCURRENCY: a bad value stops the cluster here, once, with 2.
  const config = readConfigOrExit();
  const count = config.WEB_CONCURRENCY ?? availableParallelism();
  // The same JSON lines as the servers' Fastify loggers; written synchronously, since the
  // primary ends with process.exit().
  const log = pino({ level: config.LOG_LEVEL }, pino.destination({ sync: true }));

  /**
   * The processes, and whether each has listened. One that exits on its own before it listens
   * failed to start (bad DATABASE_URL, the database down, a schema it refuses) and would fail
   * again at once: the cluster stops. One that ends after it listened, or is killed by a signal
   * however young (kill -9, the OOM killer), is replaced.
   */
  const listened = new Map<Worker, boolean>();
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    const worker = cluster.fork();
    listened.set(worker, false);
    return worker;
  };
  // Told by src/main.ts once the app listens ('listening' would also count its warm-up server).
  cluster.on('message', (worker, message) => {
    if (message === LISTENING) listened.set(worker, true);
  });

  cluster.on('exit', (worker, code, signal) => {
    const started = listened.get(worker);
    listened.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (listened.size === 0) process.exit(exitCode);
      return;
    }
    const exit = { worker: worker.process.pid, code, signal };
    if (!started && signal === null) {
      log.error(exit, 'a server process failed at start: stopping the cluster');
      stop('SIGTERM', 1);
      return;
    }
    const replacement = fork();
    log.warn({ ...exit, replacement: replacement.process.pid }, 'a server process ended: starting another');
  });

  /** Passes the signal on; each process finishes its requests and closes (src/main.ts). */
  function stop(signal: NodeJS.Signals, code = 0): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (listened.size === 0) process.exit(exitCode);
    for (const worker of listened.keys()) worker.process.kill(signal);
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Ctrl-C reaches every process of the terminal's group: the servers stop on their own.
  process.on('SIGINT', () => {
    stopping = true;
    if (listened.size === 0) process.exit(exitCode);
  });

  log.info({ processes: count }, `starting ${count} server processes`);
  for (let i = 0; i < count; i++) fork();
} else {
  await import('./main.ts');
}
