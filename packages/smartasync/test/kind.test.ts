// What kind of target smartasync(...) was given: a class (class syntax or a constructor
// function), an async body, a generator. Functions from another realm (Node's own modules
// seen from a Jest test, which runs in a vm context) must be told apart the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { isAsyncBody, isClassLike, isGeneratorBody } from '../src/api/kind.ts';

const sources = {
  arrow: '() => 1',
  function: '(function plain() { return 1; })',
  async: '(async function load() {})',
  generator: '(function* rows() {})',
  asyncGenerator: '(async function* ticks() {})',
  class: '(class Repo { find() {} })',
  emptyClass: '(class Empty {})',
  constructorFunction: '(() => { function Store() {} Store.prototype.add = function () {}; return Store; })()',
  inheriting:
    '(() => { function Base() {} Base.prototype.kind = function () {}; function Child() {} Object.setPrototypeOf(Child.prototype, Base.prototype); return Child; })()',
  bound: '(function plain() {}).bind(null)',
  method: '({ m() {} }).m',
};
const expected: Record<keyof typeof sources, [cls: boolean, async: boolean, generator: boolean]> = {
  arrow: [false, false, false],
  function: [false, false, false],
  async: [false, true, false],
  generator: [false, false, true],
  asyncGenerator: [false, true, true],
  class: [true, false, false],
  emptyClass: [true, false, false],
  constructorFunction: [true, false, false],
  inheriting: [true, false, false],
  bound: [false, false, false],
  method: [false, false, false],
};

for (const realm of ['this realm', 'another realm (a vm context)'] as const) {
  test(`functions are told apart in ${realm}`, () => {
    const context = realm === 'this realm' ? undefined : vm.createContext({});
    for (const [name, source] of Object.entries(sources) as [keyof typeof sources, string][]) {
      const fn = (context ? vm.runInContext(source, context) : (0, eval)(source)) as Function;
      assert.deepEqual([isClassLike(fn), isAsyncBody(fn), isGeneratorBody(fn)], expected[name], name);
    }
  });
}

test("Node's own functions and classes: readFileSync is a function, DatabaseSync a class", () => {
  assert.equal(isClassLike(readFileSync), false);
  assert.equal(isClassLike(DatabaseSync), true);
  assert.equal(isAsyncBody(vm.runInNewContext('(async () => {})') as Function), true);
});
