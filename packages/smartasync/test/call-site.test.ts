// Reading a registration site's source line: what Bun's missing tail-call frames are told
// apart with (environments.test.ts runs the real case under Bun).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { callAt } from '../src/registry/call-site.ts';
import { calleeColumn } from '../src/registry/callee.ts';

test('callAt names the function called at a position, and the names smartasync goes by in that file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-call-at-'));
  try {
    const file = path.join(dir, 'app.mjs');
    fs.writeFileSync(
      file,
      [
        "import { smartasync as wrap, registerError } from 'smartasync';",
        "const { offload: off } = require('smartasync');",
        'const d = makeDoubler(2);',
        'export const f = wrap(function f() {});',
        'const n = 1 + 2;',
      ].join('\n'),
    );
    const at = (line: number, column: number) => callAt({ moduleUrl: pathToFileURL(file).href, line, column });
    const made = at(3, 11);
    assert.equal(made?.callee, 'makeDoubler');
    assert.deepEqual(
      [...made.ownNames].sort(),
      ['off', 'offload', 'offloadable', 'registerError', 'smartasync', 'wrap'],
      'the exports under their own names, and the local names the file gives them',
    );
    assert.equal(at(4, 18)?.callee, 'wrap');
    assert.equal(at(5, 11), undefined, 'no call starts there');
    assert.equal(at(40, 1), undefined, 'no such line');
    assert.equal(callAt({ moduleUrl: pathToFileURL(path.join(dir, 'gone.mjs')).href, line: 1, column: 1 }), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('calleeColumn puts a position on the paren of a call back on the name called, as V8 reports a direct call', () => {
  // ts-jest's and tsc's CommonJS output calls `(0, smartasync_1.smartasync)(fn)`: V8 reports the
  // argument list's `(`, which source maps put on the `(` after `smartasync`; a worker running
  // the source itself reports the start of `smartasync`. Both must give one registration key.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-callee-'));
  try {
    const file = path.join(dir, 'app.ts');
    const lines = [
      'export const a = smartasync((x: number) => x);',
      'export const b = smartasync<typeof f>(f);',
      'export const c = sa.smartasync (f), d = registerError(E);',
      'const e = wrap()(f);',
    ];
    fs.writeFileSync(file, lines.join('\n'));
    const url = pathToFileURL(file).href;
    const col = (line: number, text: string, from = 0) => lines[line - 1]!.indexOf(text, from) + 1;
    assert.equal(calleeColumn(url, 1, col(1, '((x')), col(1, 'smartasync'));
    assert.equal(calleeColumn(url, 1, col(1, 'smartasync')), col(1, 'smartasync'), 'a direct call stays');
    assert.equal(calleeColumn(url, 2, col(2, '(f)')), col(2, 'smartasync'), 'past type arguments');
    assert.equal(calleeColumn(url, 3, col(3, '(f)')), col(3, 'smartasync'), 'a member call: its property name');
    assert.equal(calleeColumn(url, 3, col(3, '(E)')), col(3, 'registerError'), 'a second call on the line');
    assert.equal(calleeColumn(url, 4, col(4, '(f)')), col(4, '(f)'), 'no name before the paren: unchanged');
    assert.equal(calleeColumn(pathToFileURL(path.join(dir, 'gone.ts')).href, 1, 5), 5, 'no file: unchanged');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
