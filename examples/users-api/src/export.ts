// GET /users/export: every user, streamed from the data layer's export generator into the HTTP
// response with backpressure at each step. The response's socket is drained before more text is
// asked for; the text is made only as rows arrive; rows arrive from the worker (or the async
// driver's cursor) only as they are read. A client that goes away ends the export where it is.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { DeadlineError, ServerBusyError } from './db/store.ts';
import type { ExportType } from './export-text.ts';

export { encode, EXPORT_TYPES, type ExportType, ROWS_PER_CHUNK } from './export-text.ts';

/** How long an export may take to stop on its own once its client has gone, before it is aborted. */
const STOP_GRACE_MS = 1_000;
/**
 * How long a first chunk that is late is given to answer the abort: smartasync answers at once,
 * saying whether the call had started (if not, it was waiting for a worker: the server is busy).
 * An export on this event loop (the `inline` mode) ignores the abort: the database is late.
 */
const ABORT_ANSWER_MS = 100;

const LATE = Symbol('late');

/**
 * The first chunk of `chunks`, read before the status is sent, within `ms`. Past that, `abort`
 * ends the call and the failure says why: ServerBusyError if it never got a worker, else
 * DeadlineError (the database did not answer).
 */
async function firstChunk(
  chunks: AsyncGenerator<string, void, undefined>,
  abort: () => void,
  ms: number,
): Promise<IteratorResult<string, void>> {
  const next = chunks.next();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(resolve, ms, LATE)));
  try {
    const first = await Promise.race([next, late]);
    if (first !== LATE) return first;
  } finally {
    clearTimeout(timer);
  }
  abort();
  // Whatever the first read does now, the export is over: end the generator once it settles.
  void next.then(
    () => chunks.return(),
    () => {},
  );
  const answer = await Promise.race([
    next.then(
      () => undefined,
      (error: unknown) => error as { code?: unknown; started?: unknown },
    ),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ABORT_ANSWER_MS)),
  ]);
  throw answer?.code === 'ERR_SMARTASYNC_ABORTED' && answer.started === false
    ? new ServerBusyError('The export', ms)
    : new DeadlineError(ms);
}

/**
 * Streams `chunks` (the export's text) into `reply` as `type`. The first chunk (up to
 * ROWS_PER_CHUNK rows, or the end) is read before the status is sent, so a database that cannot
 * be reached, or a server too busy to start the export within `firstChunkMs`, is still a 503; a
 * failure after that can only cut the response short (the connection is closed without the
 * final chunk, so a client never takes a partial export for a whole one). `abort` ends the
 * data-layer call: at once if the client goes away before the first chunk, after a grace period
 * if it goes away later and the export does not stop on its own, and when the first chunk is late.
 */
export async function streamExport(
  reply: FastifyReply,
  type: ExportType,
  chunks: AsyncGenerator<string, void, undefined>,
  abort: () => void,
  firstChunkMs: number,
): Promise<FastifyReply> {
  let started = false;
  let ended = false;
  // Fastify destroys the body when the client goes away, which returns the generator below; it
  // can only return once its pending read settles, so a read stuck on the database is aborted.
  reply.raw.once('close', () => {
    if (!started)
      abort(); // nothing sent yet: a call still waiting for a worker never runs
    else if (!ended) setTimeout(() => ended || abort(), STOP_GRACE_MS).unref();
  });
  const first = await firstChunk(chunks, abort, firstChunkMs);
  started = true;
  async function* body(): AsyncGenerator<string, void, undefined> {
    try {
      for (let step = first; !step.done; step = await chunks.next()) yield step.value;
    } finally {
      try {
        await chunks.return();
      } finally {
        ended = true;
      }
    }
  }
  return reply
    .type(type === 'text/csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="users.${type === 'text/csv' ? 'csv' : 'ndjson'}"`)
    .send(Readable.from(body(), { objectMode: false }));
}
