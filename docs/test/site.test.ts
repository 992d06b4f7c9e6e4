// npm run docs: the site builds from the repository as it is, with a reference page for every
// export of both entry points and a page for every section of the README; each of its checks
// fails the build when it should (an export or a member without TSDoc, a TSDoc link to nothing,
// a link to a missing file or heading, an anchor only the finished site can show missing); and
// the reference page of `smartasync` renders in headless Chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import ts from 'typescript';
import { headings } from '../site/markdown.ts';
import { DOCS_DIR, REPO_ROOT } from '../site/paths.ts';
import { chromiumSkip, openChromium } from './chromium.ts';

const BUILD = path.join(DOCS_DIR, 'build.ts');
const FIXTURES = path.join(DOCS_DIR, 'test/fixtures');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-docs-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Built {
  code: number | null;
  output: string;
  out: string;
}

let runs = 0;
/** Runs `npm run docs`'s script into a folder of its own, with `args` added. */
function build(args: string[] = []): Promise<Built> {
  const out = path.join(scratch, `site-${++runs}`);
  const child = spawn(process.execPath, [BUILD, '--out', out, '--stage', `${out}-pages`, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output, out })));
}

/** A build over a fixture entry point (test/fixtures), with the site's options. */
function buildFixture(entry: string, args: string[] = []): Promise<Built> {
  return build(['--options', path.join(FIXTURES, 'typedoc.json'), '--entry', path.join(FIXTURES, entry), ...args]);
}

let site: Built;
before(async () => {
  site = await build();
});

/** The names each entry point exports, as TypeScript sees them. */
function exportsOf(entries: Record<string, string>): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(DOCS_DIR, 'reference.tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  )!;
  const program = ts.createProgram(Object.values(entries), config.options);
  const checker = program.getTypeChecker();
  const found = new Map<string, string[]>();
  for (const [module, file] of Object.entries(entries)) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    found.set(
      module,
      checker.getExportsOfModule(symbol).map((s) => s.name),
    );
  }
  return found;
}

test('npm run docs builds the site: every export of both entry points has its reference page', () => {
  assert.equal(site.code, 0, site.output);
  assert.match(site.output, /built, every link checked/);
  const src = path.join(REPO_ROOT, 'packages/smartasync/src');
  const modules = exportsOf({ smartasync: `${src}/index.ts`, 'smartasync/bundler': `${src}/bundler/index.ts` });
  const pages = new Set(
    ['functions', 'classes', 'interfaces', 'types', 'variables'].flatMap((dir) =>
      fs.readdirSync(path.join(site.out, dir)).map((file) => file.replace(/\.html$/, '')),
    ),
  );
  let count = 0;
  for (const [module, names] of modules) {
    assert.ok(names.length > 5, `${module} exports ${names.join(', ')}`);
    for (const name of names) {
      count++;
      assert.ok(pages.has(`${module.replace('/', '_')}.${name}`), `${module}'s ${name} has no reference page`);
    }
  }
  assert.ok(count > 40, `${count} exports`);
});

test('the site has a page for every section of the README, the migration guide, SECURITY.md and each example', () => {
  const titles = new Set(
    fs
      .readdirSync(path.join(site.out, 'documents'))
      .map(
        (file) =>
          /<title>(.*?) \| smartasync<\/title>/.exec(
            fs.readFileSync(path.join(site.out, 'documents', file), 'utf8'),
          )?.[1],
      ),
  );
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const sections = headings(readme).filter((h) => h.level === 2 && h.text !== 'Contents');
  assert.ok(sections.length >= 10);
  for (const { text } of sections)
    assert.ok(titles.has(text), `no page for the README's "${text}": ${[...titles].join(', ')}`);
  for (const title of [
    'Migrating from piscina and workerpool',
    'Security',
    'Express 5 + smartasync',
    'Hono + smartasync',
    'NestJS 11 + smartasync',
    'Streaming rows from a generator',
    'Bundling an app with esbuild, Rollup or Vite',
  ])
    assert.ok(titles.has(title), `no page "${title}"`);
  // The home page is the README's opening, its list of contents linking to the pages.
  const home = fs.readFileSync(path.join(site.out, 'index.html'), 'utf8');
  assert.match(home, /Call synchronous code from an async server/);
  assert.match(home, /href="documents\/The_pool\.html"/);
});

test('an export or a member without TSDoc, and a TSDoc link to nothing, fail the build, each named', async () => {
  const r = await buildFixture('undocumented.ts');
  assert.notEqual(r.code, 0);
  assert.match(r.output, /npm run docs: TypeDoc failed/);
  assert.match(r.output, /undocumented\.subtract .*does not have any documentation/);
  assert.match(r.output, /undocumented\.Options\.rounding .*does not have any documentation/);
  assert.match(r.output, /Failed to resolve link to "multiply" in comment for undocumented\.add/);
  assert.doesNotMatch(r.output, /(undocumented\.add|Options\.precision) .*does not have any documentation/);
});

test('a page linking to a missing file or heading fails the build, naming the page and the link', async () => {
  const r = await buildFixture('documented.ts', [
    '--page',
    path.join(FIXTURES, 'missing-file.md'),
    '--page',
    path.join(FIXTURES, 'missing-anchor.md'),
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.output, /staging the pages failed/);
  assert.match(
    r.output,
    /missing-file\.md: broken link \.\.\/\.\.\/no-such-guide\.md: docs\/no-such-guide\.md does not exist/,
  );
  assert.match(
    r.output,
    /missing-anchor\.md: broken link .*README\.md#no-such-section: README\.md has no heading #no-such-section/,
  );
  assert.doesNotMatch(r.output, /#the-pool/, 'the link to an existing heading is not reported');
});

test('an anchor that only the finished site can show missing fails the link check', async () => {
  // Raw HTML in a page: no Markdown link for the staging to check, and TypeDoc does not check
  // in-page anchors of HTML; the crawl of the finished site does.
  const r = await buildFixture('documented.ts', ['--page', path.join(FIXTURES, 'html-link.md')]);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.output, /TypeDoc failed/, 'the fixture entry point itself passes TypeDoc');
  assert.match(r.output, /the link check failed/);
  assert.match(r.output, /A_page_with_a_raw_HTML_link\.html#no-such-anchor .*no element has that id/);
});

/** Serves a folder on a loopback port, as a static host would. */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.svg': 'image/svg+xml',
  };
  const server = http.createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url!, 'http://x').pathname);
    if (pathname === '/favicon.ico') {
      response.writeHead(204).end(); // the site has no icon; a browser asks for one anyway
      return;
    }
    const file = path.join(dir, pathname);
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('the reference page of smartasync renders in headless Chromium', { skip: chromiumSkip() }, async () => {
  assert.equal(site.code, 0, site.output);
  const host = await serve(site.out);
  const browser = await openChromium();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on(
      'response',
      (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`),
    );
    const response = await page.goto(`${host.url}functions/smartasync.smartasync.html`);
    assert.equal(response?.status(), 200);

    assert.equal(await page.title(), 'smartasync | smartasync');
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Function smartasync');
    // Both overloads, with their types linked to their own pages.
    const signatures = await page.locator('.tsd-signature').allTextContents();
    assert.equal(signatures.length, 2, signatures.join('\n'));
    assert.match(
      signatures[0]!,
      /smartasync<C extends AnyClass>\(\s*target: C,\s*options\?: ClassOptions<InstanceType<C>>,?\s*\): SmartClass<C>/,
    );
    assert.match(
      signatures[1]!,
      /smartasync<F extends AnyFunction>\(\s*target: F,\s*options\?: FunctionOptions,?\s*\): SmartFunction<F>/,
    );
    assert.ok(await page.locator('.tsd-signature a[href$="types/smartasync.SmartFunction.html"]').count());
    // The TSDoc's prose and its example, highlighted.
    assert.match((await page.locator('.tsd-comment').first().textContent()) ?? '', /Wraps a class: same constructor/);
    assert.match(
      (await page.locator('pre code').first().textContent()) ?? '',
      /export const Users = smartasync\(UserRepo\);/,
    );
    assert.ok(await page.locator('pre code span[class^="hl-"]').count(), 'the example is highlighted');
    // The sidebar, which the site's script draws: the guides and both modules are in it.
    const nav = page.locator('.tsd-navigation');
    await nav.locator('a[href*="modules/smartasync_bundler.html"]').waitFor({ state: 'attached', timeout: 10_000 });
    assert.ok(await nav.locator('a[href*="documents/The_pool.html"]').count(), 'the guides are in the sidebar');
    // It is laid out: the title and the first signature are on screen, with some size.
    const box = await page.locator('.tsd-signature').first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 20, `signature box ${JSON.stringify(box)}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await host.close();
  }
});
