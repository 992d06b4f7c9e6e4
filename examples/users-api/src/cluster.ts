// Several server processes on one port: Node's cluster module forks WEB_CONCURRENCY copies of
// src/main.ts (default: one per core), and the primary hands them connections in turn. The app
// keeps no state of its own between requests (it is all in the database), so any process can
// answer any request; each process has its own worker threads and its own connections, which is
// what to count against the database's connection limit (README: Several processes).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

if (cluster.isPrimary) {
  const raw = process.env.WEB_CONCURRENCY;
  const count = raw === undefined || raw === '' ? availableParallelism() : Number(raw);
  if (!/^\d*$/.test(raw ?? '') || !Number.isSafeInteger(count) || count < 1) {
    console.error(`WEB_CONCURRENCY must be a positive whole number of processes, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  // A process that fails at start (bad DATABASE_URL, the database down) would fail again at
  // once: replaced only after it had been up this long, otherwise the cluster stops.
  const STARTED_MS = 5_000;
  const startedAt = new Map<Worker, number>();
  let stopping = false;
  let exitCode = 0;

  const fork = () => startedAt.set(cluster.fork(), Date.now());
  const log = (msg: string, extra: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, ...extra, msg }));

  cluster.on('exit', (worker, code, signal) => {
    const upMs = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (startedAt.size === 0) process.exit(exitCode);
      return;
    }
    if (upMs < STARTED_MS) {
      log('a server process failed at start: stopping the cluster', { worker: worker.process.pid, code, signal });
      stop('SIGTERM', 1);
      return;
    }
    log('a server process ended: starting another', { worker: worker.process.pid, code, signal });
    fork();
  });

  /** Passes the signal on; each process finishes its requests and closes (src/main.ts). */
  function stop(signal: NodeJS.Signals, code = 0): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (startedAt.size === 0) process.exit(exitCode);
    for (const worker of startedAt.keys()) worker.process.kill(signal);
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Ctrl-C reaches every process of the terminal's group: the servers stop on their own.
  process.on('SIGINT', () => {
    stopping = true;
    if (startedAt.size === 0) process.exit(exitCode);
  });

  log(`starting ${count} server processes`, { processes: count });
  for (let i = 0; i < count; i++) fork();
} else {
  await import('./main.ts');
}
