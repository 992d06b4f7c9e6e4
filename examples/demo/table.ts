// A runnable tour of the 2×2 table: `npm run demo`.
import { threadId } from 'node:worker_threads';
import { hashPassword, fetchGreeting, SmartInventory } from './work.ts';

const where = (t: number): string => (t === threadId ? 'this thread' : `worker thread ${t}`);

let ticks = 0;
const ticker = setInterval(() => ticks++, 5);

const offloaded = await hashPassword('correct horse');
console.log(
  `await hashPassword()       sync body  → ${where(offloaded.threadId)}; the event loop ticked ${ticks} times meanwhile`,
);
console.log(`hashPassword.sync()        sync body  → ${where(hashPassword.sync('battery staple').threadId)} (inline)`);
console.log(`await fetchGreeting()      async body → ${where((await fetchGreeting('ada')).threadId)} (as normal)`);
console.log(
  `fetchGreeting.sync()       async body → ${where(fetchGreeting.sync('grace').threadId)}; this thread blocked until it settled`,
);

const inventory = new SmartInventory({ apples: 3 });
console.log(
  `await inventory.count()    method     → ${where((await inventory.count('apples')).threadId)}, on its own replica`,
);
console.log(
  `inventory.count.sync()     method     → ${where(inventory.count.sync('apples').threadId)}, on inventory.sync`,
);
clearInterval(ticker);
await inventory[Symbol.asyncDispose]();
