// main.ts — a request's work, watched through the calls' diagnostics channel
import { tracingChannel } from 'node:diagnostics_channel';
import { getPool, type CallContext } from 'smartasync';
import { audit, request } from './context.ts';

const calls = tracingChannel<unknown, CallContext>('smartasync:call');
calls.subscribe({
  asyncEnd: (call) => console.log(`${call.name} ran on ${call.worker}`),
  start() {},
  end() {},
  asyncStart() {},
  error() {},
});

console.log(await request.run({ id: 'req-1', user: 'ada' }, () => audit('exported users')));
const [fn] = getPool().stats().functions;
console.log(fn!.name, fn!.completed, fn!.runTime.count);
