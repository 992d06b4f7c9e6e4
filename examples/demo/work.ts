// The code being wrapped: plain functions and a plain class, as legacy code would have them.
// smartasync() runs at module top level, in a module of its own, so workers can import it.
import { scryptSync } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { smartasync } from 'smartasync';

/** CPU-heavy and synchronous: would freeze an event loop for ~50 ms. */
export const hashPassword = smartasync(function hashPassword(password: string) {
  return {
    hash: scryptSync(password, 'demo-salt', 32, { N: 2 ** 14 })
      .toString('hex')
      .slice(0, 16),
    threadId,
  };
});

/** Async: fine on an event loop, awkward for a synchronous CLI. */
export const fetchGreeting = smartasync(async function fetchGreeting(name: string) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { greeting: `hello, ${name}`, threadId };
});

class Inventory {
  private readonly items: Map<string, number>;
  constructor(seed: Record<string, number>) {
    this.items = new Map(Object.entries(seed));
  }
  count(item: string) {
    return { item, count: this.items.get(item) ?? 0, threadId };
  }
}
/** Each worker builds its own Inventory from the same constructor arguments. */
export const SmartInventory = smartasync(Inventory);
