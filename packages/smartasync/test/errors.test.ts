// Moving values and errors across threads: refusal of values that would arrive broken,
// Buffers restored, and thrown values rebuilt faithfully.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configure } from 'smartasync';
import {
  echo,
  byteLength,
  makeBuffer,
  failWith,
  returnsFunction,
  InsufficientFunds,
  whereAsync,
} from './fixtures/basic.ts';

configure({ size: 1 });

test('structured-cloneable values round-trip', async () => {
  const value = {
    n: 1,
    big: 2n ** 70n,
    s: 'ü',
    d: new Date(0),
    re: /x/gi,
    m: new Map([[1, { a: [1, 2] }]]),
    set: new Set(['a']),
    u8: new Uint8Array([1, 2, 3]),
    nested: [null, undefined, { deep: true }],
  };
  assert.deepEqual(await echo(value), value);
});

test('Buffers arrive as Buffers, in arguments and results', async () => {
  const r = await byteLength(Buffer.from('hello'));
  assert.equal(r.isBuffer, true);
  assert.equal(r.length, 5);
  const buf = await makeBuffer('héllo');
  assert.ok(Buffer.isBuffer(buf));
  assert.equal(buf.toString('utf8'), 'héllo');
  const nested = (await echo({ rows: [{ blob: Buffer.from([9, 8]) }] })) as { rows: { blob: Buffer }[] };
  assert.ok(Buffer.isBuffer(nested.rows[0]!.blob));
});

test('transfer moves an ArrayBuffer instead of copying it', async () => {
  const ab = new ArrayBuffer(8);
  const r = (await echo.with({ transfer: [ab] })(ab)) as ArrayBuffer;
  assert.equal(ab.byteLength, 0, 'detached on this side');
  assert.equal(r.byteLength, 8);
});

class Point {
  x = 1;
  norm(): number {
    return this.x;
  }
}

const refusals: [string, unknown[], RegExp][] = [
  ['a function', [{ cb: () => 1 }], /args\[0\]\.cb is a function/],
  ['a symbol', [1, Symbol('s')], /args\[1\] is a symbol/],
  ['a class instance', [{ p: new Point() }], /args\[0\]\.p is an instance of Point.*prototype/],
  ['a Map subclass', [new (class Registry extends Map {})()], /args\[0\] is an instance of Registry/],
  ['a value inside a Map', [new Map([['k', () => 1]])], /args\[0\]<map value 0> is a function/],
  ['a native handle', [process.stdout], /args\[0\] is an instance of/],
];
for (const [what, args, pattern] of refusals) {
  test(`arguments holding ${what} are refused before sending, naming function and path`, async () => {
    await assert.rejects(
      (echo as unknown as (...a: unknown[]) => Promise<unknown>)(...args),
      (err: Error) => err instanceof TypeError && /echo\(\)/.test(err.message) && pattern.test(err.message),
    );
  });
}

test('a result that cannot cross threads rejects, naming the function', async () => {
  // The types refuse this call too (test/types/crossing.test-d.ts); the run time still must,
  // for code the types cannot see into.
  // @ts-expect-error result.callback is a function
  await assert.rejects(returnsFunction(), (err: Error) => {
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /return value of returnsFunction\(\)/);
    assert.match(err.message, /result\.callback is a function/);
    return true;
  });
});

test('built-in error classes keep instanceof, message and cause', async () => {
  await assert.rejects(
    failWith('type'),
    (err: Error) => err instanceof TypeError && err.message === 'bad type' && err.name === 'TypeError',
  );
  await assert.rejects(failWith('range'), (err: Error) => {
    assert.ok(err instanceof RangeError);
    assert.ok(err.cause instanceof Error);
    assert.equal((err.cause as Error).message, 'root cause');
    return true;
  });
});

test('custom error classes registered on both sides keep instanceof and fields, recursively', async () => {
  await assert.rejects(failWith('custom'), (err: Error) => {
    assert.ok(err instanceof InsufficientFunds, 'instanceof the user’s class');
    assert.equal((err as InsufficientFunds).account, 7);
    assert.equal(err.name, 'InsufficientFunds');
    assert.ok(err.cause instanceof TypeError);
    return true;
  });
});

test('code, errno and other own properties arrive', async () => {
  await assert.rejects(failWith('code'), (err: Error & Record<string, unknown>) => {
    assert.equal(err.code, 'EFIRE');
    assert.equal(err.errno, -99);
    assert.deepEqual(err.details, { disk: 'sda' });
    return true;
  });
  await assert.rejects(
    failWith('fs'),
    (err: Error & Record<string, unknown>) => err.code === 'ENOENT' && err.syscall === 'open',
  );
});

test('own properties that are undefined arrive as own properties, in their order', async () => {
  await assert.rejects(failWith('unset'), (err: Error & Record<string, unknown>) => {
    assert.deepEqual(Object.keys(err), ['detail', 'code', 'hint']);
    assert.ok('detail' in err && err.detail === undefined);
    assert.equal(err.code, '23505');
    assert.ok('hint' in err && err.hint === undefined);
    return true;
  });
});

test('own properties that JSON cannot carry (Date, BigInt) arrive intact', async () => {
  await assert.rejects(failWith('dated'), (err: Error & Record<string, unknown>) => {
    assert.ok(err.at instanceof Date && err.at.getTime() === 0);
    assert.equal(err.limit, 10n);
    assert.deepEqual(Object.keys(err), ['at', 'limit', 'missing']);
    assert.ok('missing' in err && err.missing === undefined);
    return true;
  });
});

test('AggregateError keeps its errors', async () => {
  await assert.rejects(failWith('aggregate'), (err: AggregateError) => {
    assert.ok(err instanceof AggregateError);
    assert.equal(err.errors.length, 2);
    assert.ok(err.errors[1] instanceof TypeError);
    return true;
  });
});

test('thrown non-Error values arrive as themselves', async () => {
  await assert.rejects(failWith('string'), (err: unknown) => err === 'just a string');
  await assert.rejects(failWith('object'), (err: unknown) => {
    assert.deepEqual(err, { status: 418, reason: 'teapot' });
    return true;
  });
});

test('the stack shows the worker frames and the caller’s call site', async () => {
  async function callerSiteMarker(): Promise<unknown> {
    return await failWith('type');
  }
  const err = (await callerSiteMarker().catch((e: unknown) => e)) as Error;
  const stack = err.stack!;
  assert.match(stack, /^TypeError: bad type/);
  assert.match(stack, /at failWith .*fixtures\/basic\.ts/, 'worker frame');
  assert.match(stack, /smartasync: worker thread boundary/);
  assert.match(stack, /at async callerSiteMarker .*errors\.test\.ts:\d+:\d+/, 'caller frame, at the awaited call');
  assert.doesNotMatch(stack, /dist\/worker\.js/, 'smartasync’s own dispatch frames are left out');
});

test('errors from .sync() of an async body are thrown with the same fidelity', () => {
  assert.throws(
    () => whereAsync.sync(Symbol('no') as unknown as string),
    (err: Error) => err instanceof TypeError && /whereAsync\(\)/.test(err.message),
  );
});
