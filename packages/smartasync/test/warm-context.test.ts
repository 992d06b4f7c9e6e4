// A pool warmed up front (getPool().warm, as a server does before it listens) prepares every
// registration in its workers, carried stores included: calls made afterwards inside a carried
// store still run inside it (they failed with "unknown context store" when the store's
// definition came with the warm-up rather than with a call).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { configure, getPool } from 'smartasync';
import { requestContext, SmartLedger, whoAsks } from './fixtures/context-target.ts';

configure({ size: 2 });
after(() => getPool().close());

test('after warm(), calls carry the store to every warmed worker', async () => {
  const ledger = new SmartLedger();
  await getPool().warm(ledger);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      requestContext.run({ reqId: `warm-${i}`, tenant: 't' }, () => (i % 2 ? ledger.whoAsks() : whoAsks(0))),
    ),
  );
  results.forEach((r, i) => {
    assert.notEqual(r.threadId, threadId);
    assert.equal(r.ctx?.reqId, `warm-${i}`);
  });
});
