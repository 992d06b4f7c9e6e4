// Bad and unusual values at the thread boundary: deep, huge, circular, exotic, and thrown
// values that are not Errors. Each arrives intact or is refused with a clear TypeError before
// anything is sent; none breaks the pool for the calls that follow.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { configure, getPool } from 'smartasync';
import { echo, nested, throwValue, whereSync } from './fixtures/basic.ts';

configure({ size: 1 });
after(() => getPool().close());

function deepArray(depth: number): unknown[] {
  let v: unknown[] = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

test('any thrown value rejects, undefined included, and counts as a failure', async () => {
  await whereSync('up');
  const before = getPool().stats();
  for (const value of [undefined, null, 0, '', false, Number.NaN]) {
    const outcome = await throwValue(value).then(
      (v) => ({ fulfilled: v }),
      (e: unknown) => ({ rejected: e }),
    );
    assert.deepEqual(outcome, { rejected: value }, `throw ${String(value)}`);
  }
  const after = getPool().stats();
  assert.equal(after.failed - before.failed, 6);
  assert.equal(after.completed - before.completed, 0);
});

test('values nested up to the limit cross both ways; deeper ones are refused clearly, before sending', async () => {
  const ok = deepArray(999);
  assert.deepEqual(await echo(ok), ok);
  assert.deepEqual(await nested(999), ok);
  for (const depth of [1_001, 2_000, 100_000]) {
    await assert.rejects(echo(deepArray(depth)), (err: Error) => {
      assert.ok(err instanceof TypeError, `${depth}: ${err}`);
      assert.match(
        err.message,
        /the arguments of echo\(\) cannot be sent to another thread: it nests deeper than 1000 levels/,
      );
      assert.match(err.message, /at args\[0\]\[0\]/);
      return true;
    });
  }
  await assert.rejects(
    nested(2_000),
    /the return value of nested\(\) cannot be sent to another thread: it nests deeper than 1000/,
  );
  assert.equal((await whereSync('after')).tag, 'after', 'the pool goes on');
});

test('circular and shared references arrive with their shape', async () => {
  const a: Record<string, unknown> = { name: 'a' };
  a.self = a;
  const shared = { n: 1 };
  const back = (await echo({ a, pair: [shared, shared] })) as { a: { self: unknown }; pair: unknown[] };
  assert.equal(back.a.self, back.a);
  assert.equal(back.pair[0], back.pair[1]);
});

test('huge values arrive intact', async () => {
  const text = 'x'.repeat(20 * 1024 * 1024);
  assert.equal(((await echo(text)) as string).length, text.length);
  const buf = Buffer.alloc(16 * 1024 * 1024, 7);
  const back = (await echo(buf)) as Buffer;
  assert.ok(Buffer.isBuffer(back));
  assert.ok(back.equals(buf));
  const many = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `row ${i}` }));
  assert.deepEqual(await echo(many), many);
  // Large values skip the ring (see LARGE_VALUE): Buffers inside them still come back as Buffers.
  const mixed = { name: 'm', parts: [Buffer.alloc(300_000, 1), 'y'.repeat(300_000)], at: new Map([['k', 'v']]) };
  const mixedBack = (await echo(mixed)) as typeof mixed;
  assert.ok(Buffer.isBuffer(mixedBack.parts[0]));
  assert.deepEqual(mixedBack, mixed);
});

test('exotic but cloneable values arrive as themselves', async () => {
  const key = { k: 1 };
  const value = {
    nums: [Number.NaN, -0, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 5e-324],
    big: [0n, -(2n ** 200n)],
    sparse: [1, , 3], // eslint-disable-line no-sparse-arrays
    map: new Map<unknown, unknown>([[key, new Set([key])]]),
    typed: [
      new Float64Array([1.5]),
      new BigInt64Array([-1n]),
      new Uint8ClampedArray([300]),
      new DataView(new ArrayBuffer(4)),
    ],
    nullProto: Object.assign(Object.create(null) as object, { a: 1 }),
    error: new RangeError('as a value'),
    date: new Date(8.64e15),
    frozen: Object.freeze({ f: true }),
    text: 'nul\u0000 bidi\u202e emoji 🎉 lone surrogate \ud800',
  };
  const back = (await echo(value)) as typeof value;
  assert.deepEqual(back.nums, value.nums);
  assert.ok(Object.is(back.nums[1], -0));
  assert.deepEqual(back.big, value.big);
  assert.equal(1 in back.sparse, false, 'a hole stays a hole');
  const [[k, set]] = [...back.map] as [[object, Set<object>]];
  assert.ok(set.has(k), 'a key shared between a Map and a Set stays one object');
  assert.deepEqual(
    back.typed.map((t) => t.constructor.name),
    ['Float64Array', 'BigInt64Array', 'Uint8ClampedArray', 'DataView'],
  );
  assert.deepEqual({ ...back.nullProto }, { a: 1 });
  assert.ok(back.error instanceof RangeError && back.error.message === 'as a value');
  assert.equal(back.date.getTime(), 8.64e15);
  assert.equal(back.text, value.text);
});

test('values that would arrive broken are refused before sending, naming the path', async () => {
  const cases: [unknown, RegExp][] = [
    [{ cb: () => 1 }, /args\[0\]\.cb is a function/],
    [[Symbol('s')], /args\[0\]\[0\] is a symbol/],
    [new (class Point {})(), /args\[0\] is an instance of Point/],
    [new Proxy(new Date(0), {}), /the arguments of echo\(\) cannot be sent to another thread: .*could not be cloned/],
    [{ weak: new WeakMap() }, /args\[0\]\.weak is an instance of WeakMap/],
    [{ p: Promise.resolve(1) }, /args\[0\]\.p is an instance of Promise/],
  ];
  for (const [value, message] of cases) {
    await assert.rejects(echo(value), (err: Error) => err instanceof TypeError && message.test(err.message));
  }
  assert.equal((await whereSync('still fine')).tag, 'still fine');
  // A proxy of plain data crosses as that data.
  assert.deepEqual(await echo(new Proxy({ a: [1] }, {})), { a: [1] });
});
