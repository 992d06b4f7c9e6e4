// The request travels with the call (issue 17): stores registered with carryContext hold, in
// the worker, a copy of what they held where the call was made, for every form of call.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { configure, getPool } from 'smartasync';
import {
  contextRows,
  requestContext,
  scribble,
  SmartLedger,
  traceTag,
  whoAsks,
  whoAsksAsync,
  whoAsksAuto,
  whoAsksLater,
  type RequestContext,
} from './fixtures/context-target.ts';

configure({ size: 2 });
after(() => getPool().close());

const within = <T>(ctx: RequestContext, run: () => T): T => requestContext.run(ctx, run);

test('an offloaded call reads the caller’s store values on its worker', async () => {
  const r = await within({ reqId: 'r1', tenant: 'acme' }, () => traceTag.run('t-1', () => whoAsks(0)));
  assert.notEqual(r.threadId, threadId);
  assert.deepEqual(r.ctx, { reqId: 'r1', tenant: 'acme' });
  assert.equal(r.tag, 't-1');
  const bare = await whoAsks(0);
  assert.equal(bare.ctx, undefined, 'a call made outside the store carries nothing');
  assert.equal(bare.tag, undefined);
});

test('200 concurrent requests: every call sees its own request’s values, never a neighbour’s', async () => {
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      within({ reqId: `req-${i}`, tenant: `t${i % 7}` }, async () => {
        const [a, b] = await Promise.all([whoAsks(i % 5 === 0 ? 3 : 0), whoAsksLater()]);
        return { i, a, b };
      }),
    ),
  );
  for (const { i, a, b } of results) {
    assert.equal(a.ctx?.reqId, `req-${i}`);
    assert.equal(a.ctx?.tenant, `t${i % 7}`);
    assert.equal(b.ctx?.reqId, `req-${i}`, 'an async body on a worker (offloadAsync) too');
  }
  assert.ok(new Set(results.map((r) => r.a.threadId)).size >= 1);
});

test('a streamed generator sees the value for its whole life, and a .sync() call on the bridge too', async () => {
  const items = await within({ reqId: 'stream-1', tenant: 'x' }, async () => {
    const got: { i: number; reqId?: string }[] = [];
    for await (const item of contextRows(600)) got.push(item);
    return got;
  });
  assert.equal(items.length, 600);
  assert.ok(items.every((x) => x.reqId === 'stream-1'));
  const onBridge = within({ reqId: 'sync-1', tenant: 'y' }, () => whoAsksAsync.sync());
  assert.notEqual(onBridge.threadId, threadId);
  assert.equal(onBridge.ctx?.reqId, 'sync-1');
});

test('a method of a wrapped instance sees it too', async () => {
  const ledger = new SmartLedger();
  const r = await within({ reqId: 'm-1', tenant: 'z' }, () => ledger.whoAsks());
  assert.equal(r.ctx?.reqId, 'm-1');
});

test('a copy in, nothing written back', async () => {
  const ctx: RequestContext = { reqId: 'w-1', tenant: 'acme' };
  const r = await within(ctx, () => scribble());
  assert.equal(r.ctx?.tenant, 'changed on the worker');
  assert.deepEqual(ctx, { reqId: 'w-1', tenant: 'acme' }, 'the caller’s value is untouched');
  const again = await within(ctx, () => whoAsks(0));
  assert.deepEqual(again.ctx, { reqId: 'w-1', tenant: 'acme' }, 'and the next call starts from the caller’s value');
});

test('a value that cannot cross fails the call, naming the store and the call', async () => {
  const bad = { reqId: 'bad', tenant: 'x', log: () => {} } as unknown as RequestContext;
  await assert.rejects(
    within(bad, () => whoAsks(0)),
    (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.match(
        err.message,
        /the value of the AsyncLocalStorage carried from .*context-target\.ts:\d+:\d+, carried with whoAsks\(\) cannot be sent to another thread: value\.log is a function/,
      );
      return true;
    },
  );
});

test("offload: 'auto': a call that runs inline sees the same values as one on a worker", async () => {
  const seen = await within({ reqId: 'auto-1', tenant: 'q' }, async () => {
    const all = [];
    for (let i = 0; i < 20; i++) all.push(await whoAsksAuto());
    return all;
  });
  assert.ok(
    seen.some((r) => r.threadId === threadId),
    'some calls ran inline, once it proved fast',
  );
  assert.ok(
    seen.some((r) => r.threadId !== threadId),
    'the first ran on a worker',
  );
  assert.ok(seen.every((r) => r.ctx?.reqId === 'auto-1'));
});
