// The data layer's log: pino JSON lines on stdout, as the server's own (Fastify's) lines, from
// whichever thread the data layer runs on. Each line carries the request it was written for
// (`reqId`, from the store smartasync carries into workers) and the thread (`thread`: 0 is the
// main thread, the event loop; another number, a worker).
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import pino, { type Logger, type LevelWithSilent } from 'pino';
import { requestContext } from '../request-context.ts';

/** What the data layer logs, given to it with its other options (plain data: it crosses to the workers). */
export interface DataLogOptions {
  /** pino's level: LOG_LEVEL. */
  level: LevelWithSilent;
  /** A statement that takes this long or longer is logged ('slow query', a warning); 0 logs every one. */
  slowQueryMs: number;
}

const loggers = new Map<LevelWithSilent, Logger>();

/** One logger per level in each thread; writes are synchronous, so a line is whole even if the thread dies next. */
export function dataLogger(level: LevelWithSilent): Logger {
  let logger = loggers.get(level);
  if (!logger) {
    logger = pino(
      {
        level,
        base: { pid: process.pid, hostname: hostname(), thread: threadId },
        // A new object each line: pino merges the line's fields into what mixin returns.
        mixin: () => {
          const request = requestContext.getStore();
          return request ? { reqId: request.reqId } : {};
        },
      },
      pino.destination({ dest: 1, sync: true }),
    );
    loggers.set(level, logger);
  }
  return logger;
}
