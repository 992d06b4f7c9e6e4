// The wire's value modules on their own, without threads: what the pre-send check accepts,
// refuses and reports, Buffer restoration, and the thrown-value codec's round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCloneable, encodingOf, restoreBuffers, toJsonText, LARGE_VALUE, MAX_DEPTH } from '../src/wire/values.ts';
import { appendCallerFrames, decodeThrown, encodeThrown } from '../src/wire/thrown.ts';
import { CallTimeoutError, WorkerCrashedError } from '../src/errors.ts';
import { Producer } from '../src/worker/producer.ts';

const check = (v: unknown) => checkCloneable(v, 'the arguments of f()', 'args');

test('plain JSON data needs no report; anything else says so', () => {
  for (const plain of [null, 'x', 1, true, undefined, [1, 'a', null], { a: { b: [1] } }])
    assert.equal(check(plain), undefined);
  for (const other of [1n, Number.NaN, -0, Infinity, [undefined], new Date(0), new Map(), /x/, new Uint8Array(2)]) {
    assert.deepEqual(check(other), { buffers: undefined }, String(other));
  }
  const shared = { n: 1 };
  assert.deepEqual(
    check([shared, shared]),
    { buffers: undefined },
    'a shared object is not JSON (it would be duplicated)',
  );
});

test('values past LARGE_VALUE string units or bytes go by MessagePort, counted across the whole value', () => {
  const big = 'x'.repeat(LARGE_VALUE + 1);
  assert.equal(encodingOf(checkCloneable(big, 'v', 'v')), 'port');
  assert.equal(encodingOf(checkCloneable('x'.repeat(LARGE_VALUE), 'v', 'v')), 'json');
  const half = 'y'.repeat(LARGE_VALUE / 2 + 1);
  assert.equal(encodingOf(checkCloneable([half, { half }], 'v', 'v')), 'port', 'two halves add up');
  const report = checkCloneable({ b: Buffer.alloc(LARGE_VALUE + 1) }, 'v', 'v');
  assert.equal(encodingOf(report), 'port');
  assert.deepEqual(report?.buffers, [['b']], 'its Buffers are still found');
  assert.equal(encodingOf(checkCloneable(new Uint8Array(LARGE_VALUE + 1).buffer, 'v', 'v')), 'port');
  assert.equal(encodingOf(checkCloneable([1n], 'v', 'v')), 'v8');
  assert.equal(encodingOf(undefined, checkCloneable([1n], 'v', 'v'), checkCloneable(big, 'v', 'v')), 'port');
});

test('Buffers are found by path and restored on the other side', () => {
  const report = check({ a: [1, Buffer.from('x')], b: Buffer.from('y') });
  assert.deepEqual(report?.buffers, [['a', 1], ['b']]);
  const cloned = structuredClone({ a: [1, Buffer.from('x')], b: Buffer.from('y') }) as {
    a: [number, Uint8Array];
    b: Uint8Array;
  };
  assert.ok(!Buffer.isBuffer(cloned.b), 'structured clone alone gives Uint8Arrays');
  const restored = restoreBuffers(cloned, report!.buffers);
  assert.ok(Buffer.isBuffer(restored.a[1]) && Buffer.isBuffer(restored.b));
  assert.equal(restored.b.toString(), 'y');
  assert.ok(
    Buffer.isBuffer(restoreBuffers(structuredClone(Buffer.from('z')), check(Buffer.from('z'))!.buffers)),
    'a Buffer at the root',
  );
  assert.deepEqual(
    check(new Map([[1, Buffer.from('m')]]))?.buffers,
    undefined,
    'inside a Map there is no path to restore by',
  );
});

test('refusals name the path and the remedy', () => {
  const cases: [unknown, RegExp][] = [
    [{ user: { validate() {} } }, /args\.user\.validate is a function \(validate\)/],
    [{ 'odd key': Symbol('s') }, /args\["odd key"\] is a symbol/],
    [new Map([[1, new (class Conn {})()]]), /args<map value 0> is an instance of Conn/],
    [new (class MyMap extends Map {})(), /Subclasses of Map lose their class/],
    [new (class Bytes extends Uint8Array {})(1), /Only built-in typed arrays keep their class/],
  ];
  for (const [value, message] of cases)
    assert.throws(
      () => check(value),
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
});

test('nesting is limited, with a message instead of a stack overflow', () => {
  let v: unknown[] = [];
  for (let i = 0; i < MAX_DEPTH; i++) v = [v];
  assert.equal(check(v), undefined, `${MAX_DEPTH} levels pass`);
  assert.throws(() => check([v]), /nests deeper than 1000 levels \(at args\[0\]\[0\]\[0\]… 1000 levels down\)/);
  let deeper: unknown[] = [];
  for (let i = 0; i < 200_000; i++) deeper = [deeper];
  assert.throws(() => check(deeper), /nests deeper than 1000 levels/);
});

test('transferred objects are not walked; JSON text of undefined is null', () => {
  const buf = new ArrayBuffer(8);
  assert.deepEqual(checkCloneable([buf], 'x', 'args', [buf]), { buffers: undefined });
  assert.equal(toJsonText(undefined), 'null');
  assert.equal(toJsonText({ a: 1 }), '{"a":1}');
});

test('the codec rebuilds thrown values: class, message, code, cause, errors, own fields', () => {
  const root = new TypeError('root');
  const err = Object.assign(new RangeError('outer', { cause: root }), {
    code: 'E_OUT',
    details: { n: 1 },
    fn: () => 1,
  });
  const back = decodeThrown(structuredClone(encodeThrown(err))) as RangeError & {
    code: string;
    details: unknown;
    fn: unknown;
  };
  assert.ok(back instanceof RangeError);
  assert.equal(back.message, 'outer');
  assert.equal(back.code, 'E_OUT');
  assert.deepEqual(back.details, { n: 1 });
  assert.equal(typeof back.fn, 'string', 'what cannot cross is described, not dropped');
  assert.ok(back.cause instanceof TypeError && (back.cause as Error).message === 'root');
  const agg = decodeThrown(
    structuredClone(encodeThrown(new AggregateError([new Error('a'), 'b'], 'many'))),
  ) as AggregateError;
  assert.ok(agg instanceof AggregateError);
  assert.deepEqual([(agg.errors[0] as Error).message, agg.errors[1]], ['a', 'b']);
  for (const value of [undefined, null, 0, 'text', { plain: true }])
    assert.deepEqual(decodeThrown(structuredClone(encodeThrown(value))), value);
});

test("smartasync's own errors keep their class and fields across the codec", () => {
  const crashed = decodeThrown(
    structuredClone(encodeThrown(new WorkerCrashedError('f()', 'exited'))),
  ) as WorkerCrashedError;
  assert.ok(crashed instanceof WorkerCrashedError);
  assert.equal(crashed.started, true);
  assert.equal(crashed.code, 'ERR_SMARTASYNC_WORKER_CRASHED');
  assert.ok(
    decodeThrown(structuredClone(encodeThrown(new CallTimeoutError('g()', 5, 'waiting')))) instanceof CallTimeoutError,
  );
});

test("the caller's frames join the worker's after a boundary line, once", () => {
  const fromWorker = decodeThrown(structuredClone(encodeThrown(new Error('boom')))) as Error;
  appendCallerFrames(fromWorker, 'Error\n    at caller (app.ts:1:1)');
  appendCallerFrames(fromWorker, 'Error\n    at again (app.ts:2:2)');
  assert.match(fromWorker.stack!, /<smartasync: worker thread boundary>\n {4}at caller \(app\.ts:1:1\)$/);
  const local = new Error('local');
  const before = local.stack;
  appendCallerFrames(local, 'Error\n    at caller (app.ts:1:1)');
  assert.equal(local.stack, before, 'errors that did not come from a worker are left alone');
});

test('a size tally adds up the string units and bytes of every value checked with it', () => {
  const tally = { units: 0 };
  checkCloneable('abc', 'v', 'v', undefined, tally);
  checkCloneable({ s: 'de', b: Buffer.alloc(10), n: [1, 'f'] }, 'v', 'v', undefined, tally);
  assert.equal(tally.units, 3 + 2 + 10 + 1);
});

test("an item's description is made only when it fails the check", () => {
  let made = 0;
  const describe = () => (made++, 'item 7 of the items of rows()');
  checkCloneable({ a: 'fine' }, describe, 'item');
  assert.equal(made, 0);
  assert.throws(
    () => checkCloneable({ f: () => 1 }, describe, 'item'),
    /^TypeError: smartasync: item 7 of the items of rows\(\) cannot be sent/,
  );
  assert.equal(made, 1);
});

test("a stream's chunk goes out at 64 K string units, whatever its item count", () => {
  // 20 items of 20 K units each: the first goes out alone (a reader waits for it), then every
  // fourth (80 K units) closes a chunk, rather than the other 19 going in one 380 K message.
  function* text() {
    for (let i = 0; i < 20; i++) yield String(i % 10).repeat(20_000);
  }
  const chunks: number[] = [];
  let ended = false;
  const producer = new Producer(text(), 256, {
    chunk: (items) => chunks.push(items.length),
    end: (items) => (chunks.push(items.length), (ended = true)),
    fail: (err) => assert.fail(String(err)),
    check: (item) => (item as string).length,
    running: () => {},
    stopAsked: () => false,
    step: (next) => next(),
  });
  producer.start();
  assert.ok(ended);
  // Exactly [1, 4, 4, 4, 4, 3] on an idle machine; a chunk may also close early (2 ms after its
  // first item, or after a step of 1 ms), never later.
  assert.equal(chunks[0], 1);
  assert.equal(
    chunks.reduce((a, b) => a + b),
    20,
  );
  assert.ok(Math.max(...chunks) <= 4, `chunks of ${chunks.join(', ')} items`);
});
