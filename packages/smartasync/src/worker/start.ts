/**
 * A worker thread's main loop: a pool worker or the sync bridge, as its boot data says. Both read
 * requests from their channel and answer through it; between requests an idle worker blocks
 * for the fastest wake-up. The bridge wakes its caller at once (the caller is blocked), and
 * whatever happens to the bridge, the blocked thread gets an answer.
 */
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { Channel, type Encoding } from '../wire/transport.ts';
import { encodeThrown } from '../wire/thrown.ts';
import {
  CTRL_READY,
  CTRL_TID,
  workerBoot,
  type CallRequest,
  type Message,
  type Reply,
  type WorkerBoot,
} from '../wire/protocol.ts';
import { WorkerCrashedError } from '../errors.ts';
import { Executor } from './executor.ts';
import { lowerPriority, osThreadId } from './os-thread.ts';

/**
 * How long an idle worker blocks in Atomics.wait for the next request before it waits on its
 * event loop instead. While it blocks, its own timers and I/O wait (at most this long, and
 * only when no request of ours is in flight); a shorter timeout costs more per wake-up (see
 * Ring.waitSync).
 */
const IDLE_BLOCK_MS = 20;

/**
 * How long an idle worker may poll for the next request before it blocks (the poll adapts to
 * the traffic, see Spin in transport.ts), where this process may use more than one core: on one,
 * polling would only take the time of the thread that is to write the request.
 */
const SPIN_MAX_US = os.availableParallelism() > 1 ? 100 : 0;

/**
 * Pool workers that may poll at once: the cores less one, which the calling thread needs (on
 * two cores, one worker polls while the others block).
 */
const SPIN_LIMIT = Math.max(0, os.availableParallelism() - 1);

/** Sends `reply`; a stream's text items go beside it as raw text (the transport's `texts`). */
function sendReply(channel: Channel<Reply, Message>, reply: Reply, encoding: Encoding, now: boolean): void {
  if (!reply.texts) return channel.send(reply, { encoding, now });
  const { texts, ...rest } = reply;
  channel.send(rest, { encoding, now, texts });
}

function start(boot: WorkerBoot): void {
  const bridge = boot.role === 'bridge';
  // Requests taken and not yet answered: while there are any, an async call may be in flight
  // and the event loop must run freely (its timers and I/O settle the call).
  let inFlight = 0;
  // The bridge's call in progress: the blocked caller's answer if the bridge goes down.
  let current: CallRequest | undefined;
  const channel = new Channel<Reply, Message>(
    boot.channel!,
    (batch) => {
      for (const req of batch) {
        if (req.op === 'pull' || req.op === 'cancel') {
          executor.execute(req); // about a stream in flight: no reply of its own
          continue;
        }
        inFlight++;
        if (bridge && req.op === 'call') current = req;
        executor.execute(req);
      }
    },
    {
      blockingWaitMs: IDLE_BLOCK_MS,
      mayBlock: () => inFlight === 0,
      spinMaxUs: SPIN_MAX_US,
      spinners: boot.spinners && new Int32Array(boot.spinners),
      spinLimit: SPIN_LIMIT,
    },
  );
  const send = (reply: Reply, encoding: Encoding): void => {
    // A stream's chunk is sent from inside the generator's loop, which may run on for long:
    // the reader is woken now, not when this thread next yields. A reply that cannot be
    // encoded throws here, having sent nothing: the executor answers with the error instead.
    sendReply(channel, reply, encoding, bridge || reply.more === true);
    if (!reply.more) inFlight--; // a stream's chunks are not its answer: the last reply is
    if (reply.seq === current?.seq && !reply.more) current = undefined;
  };
  const ctrl = new Int32Array(boot.ctrl);
  const executor = new Executor(
    send,
    bridge ? undefined : { ctrl, epoch: boot.epoch ?? 0, onRevoked: () => void inFlight-- },
  );
  if (bridge) answerIfItEnds(() => current && { seq: current.seq, label: executor.labelOf(current) }, send);
  // The ring's reader sleeps in Atomics.waitAsync, which holds no handle: this keeps the thread up.
  parentPort!.on('message', () => {});
  serving(ctrl, boot.nice ?? 0, bridge ? undefined : channel);
}

/**
 * Says that this worker serves: from now on an exit is a crash, not a failed start; a pool,
 * which places no call on a worker still starting, also gets an empty reply to say it may now.
 */
function serving(ctrl: Int32Array, nice: number, channel: Channel<Reply, Message> | undefined): void {
  const tid = osThreadId();
  lowerPriority(tid, nice); // before READY, so before any call: user code never runs above it
  Atomics.store(ctrl, CTRL_TID, tid);
  Atomics.store(ctrl, CTRL_READY, 1);
  Atomics.notify(ctrl, CTRL_READY);
  channel?.send({ seq: 0, ok: true, value: null, runMs: 0 }, { encoding: 'json' });
}

/**
 * The bridge's caller is blocked on the call in progress: whatever ends this thread (an
 * uncaught error, a rejection no one handled, process.exit), the caller gets an answer.
 */
function answerIfItEnds(
  current: () => { seq: number; label: string } | undefined,
  send: (reply: Reply, encoding: Encoding) => void,
): void {
  const crash = (detail: string, err?: unknown): void => {
    const call = current();
    if (call === undefined) return;
    const error = new WorkerCrashedError(call.label, detail, err === undefined ? undefined : { cause: err });
    send({ seq: call.seq, ok: false, value: encodeThrown(error), runMs: 0 }, 'v8');
  };
  const why = (err: unknown) => (err as Error)?.message ?? String(err);
  process.on('uncaughtException', (err) => crash(`threw an uncaught exception: ${why(err)}`, err));
  process.on('unhandledRejection', (err) => crash(`had an unhandled promise rejection: ${why(err)}`, err));
  process.on('exit', (code) => crash(`exited with code ${code}`));
}

let started = false;

/** Starts serving requests, if this thread is a smartasync worker (once). */
export function startWorker(): void {
  if (started || !workerBoot) return;
  started = true;
  start(workerBoot);
}
