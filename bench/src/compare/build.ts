// Builds smartasync from a git ref (or from the working tree) into a directory of its own, so
// two builds can run side by side in one process: an ESM bundle of the library and its worker
// entry, and a module of the functions the comparison calls, registered with that build.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** `label`: the ref as given, or `working tree`; `dir` holds dist/ (the library) and tasks.mjs (the functions the jobs call). */
export type Build = { readonly label: string; readonly commit: string; readonly dir: string };

const LIB = 'packages/smartasync';

const git = (repo: string, args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** The library's sources at `ref` (or the working tree's, `ref` undefined) as `into`/src. */
function checkout(repo: string, ref: string | undefined, into: string): void {
  mkdirSync(into, { recursive: true });
  if (ref === undefined) return cpSync(join(repo, LIB, 'src'), join(into, 'src'), { recursive: true });
  const tar = execFileSync('git', ['-C', repo, 'archive', '--format=tar', ref, `${LIB}/src`], { maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '--strip-components=2', '-C', into], { input: tar });
}

// Both builds keep state on globalThis under Symbol.for keys (so that the ESM and CommonJS copies
// of one build agree); two different builds in one process must not share it.
function isolateGlobals(dir: string, tag: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const path = join(dir, file);
    const code = readFileSync(path, 'utf8');
    writeFileSync(path, code.replace(/(["'])smartasync\.([\w-]+)\.v1\1/g, `$1smartasync.$2.v1@${tag}$1`));
  }
}

const TASKS = `// The functions bench:compare calls, registered with this build.
import { smartasync, configure, getPool } from './dist/index.js';

export const noop = smartasync(function noop(x) { return x; });
export const ping = smartasync(async function ping(x) { return x; });
export const echo = smartasync(function echo(x) { return x; });
// n chunks of NDJSON text, 256 rows each (about 16 KB), as an export streams them.
export const lines = smartasync(function* lines(n) {
  let text = '';
  for (let i = 0; i < 256; i++) text += JSON.stringify({ id: i, name: 'User ' + i, email: 'user' + i + '@example.com' }) + '\\n';
  for (let c = 0; c < n; c++) yield text;
});
export { configure, getPool };
`;

/** Builds the library at `ref` (undefined: the working tree) into `dir`. */
export async function buildAt(repo: string, ref: string | undefined, dir: string, tag: string): Promise<Build> {
  checkout(repo, ref, dir);
  const src = join(dir, 'src');
  const worker = ['worker/worker.ts', 'worker.ts'].map((f) => join(src, f)).find((f) => existsSync(f));
  if (!worker)
    throw new Error(`no worker entry in ${ref ?? 'the working tree'} (src/worker/worker.ts or src/worker.ts)`);
  await build({
    entryPoints: { index: join(src, 'index.ts'), worker },
    outdir: join(dir, 'dist'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    logLevel: 'error',
  });
  isolateGlobals(join(dir, 'dist'), tag);
  writeFileSync(join(dir, 'tasks.mjs'), TASKS);
  // The library knows its own files by the package they sit in (it refuses to run bundled into
  // a user's file without its plugin), so the build sits in a package named smartasync.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'smartasync', type: 'module', private: true }));
  const commit = git(repo, ['rev-parse', '--short', ref ?? 'HEAD']);
  const dirty = ref === undefined && git(repo, ['status', '--porcelain', '--', LIB]) !== '';
  return { label: ref ?? 'working tree', commit: dirty ? `${commit}+changes` : commit, dir };
}
