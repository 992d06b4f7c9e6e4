/**
 * A worker that dies unexpectedly is replaced and its calls accounted for (pool.ts); the user is
 * also told why, once per distinct cause, as a process warning: a module that throws from a
 * timer in every worker must not flood the log.
 */
const told = new Set<string>();

/** Warns that a worker died (`detail`), unless this cause was reported already. */
export function reportCrash(detail: string, cause: Error | undefined): void {
  const key = cause ? `${cause.name}: ${cause.message}` : detail;
  if (told.has(key)) return;
  told.add(key);
  const where = cause?.stack ? `\n${cause.stack}` : '';
  process.emitWarning(
    `a smartasync worker thread ${detail}. It was replaced; calls it had started failed with WorkerCrashedError, ` +
      `calls it had not started run on other workers. Further crashes with this cause are not reported.${where}`,
    { type: 'SmartAsyncWarning', code: 'SMARTASYNC_WORKER_CRASHED' },
  );
}
