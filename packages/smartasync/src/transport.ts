/**
 * A message channel that batches: everything sent in one turn of the event loop leaves as
 * one postMessage. Structured clone and the cross-thread wake-up have a fixed cost per
 * message, so under load (many calls in flight) batching divides it among the calls.
 * It moves opaque messages; it knows nothing of calls, workers or classes.
 */
import type { TransferListItem } from 'node:worker_threads';

/** The part of `Worker` / `MessagePort` the channel uses. */
export interface Port {
  postMessage(value: unknown, transfer?: readonly TransferListItem[]): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
}

export class BatchingChannel<Out, In> {
  private outbox: Out[] = [];
  private transfer: TransferListItem[] = [];
  private scheduled = false;
  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.outbox;
    const transfer = this.transfer;
    this.outbox = [];
    this.transfer = [];
    this.port.postMessage(batch, transfer.length ? transfer : undefined);
  };

  private readonly port: Port;

  constructor(port: Port, onBatch: (messages: In[]) => void) {
    this.port = port;
    port.on('message', (value) => onBatch(value as In[]));
  }

  /** Queues `message`; it leaves with the others sent in this turn. */
  send(message: Out, transfer?: readonly TransferListItem[]): void {
    this.outbox.push(message);
    if (transfer?.length) this.transfer.push(...transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }
}
