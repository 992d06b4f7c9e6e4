// Reading a registration site's source line: what Bun's missing tail-call frames are told
// apart with (environments.test.ts runs the real case under Bun).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { callAt } from '../src/registry/call-site.ts';

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
