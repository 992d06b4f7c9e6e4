/**
 * Where was `smartasync(...)` called? A worker finds the user's function again by importing
 * that module and looking up the same position, so the position must read the same on every
 * thread. We read it from `Error().stack` rather than raw V8 call sites because the stack
 * string honours whatever source-map support is active (tsx, Vitest), and workers importing
 * the original TypeScript (native type stripping keeps positions) then agree with it.
 *
 * The module URL, however, comes from the raw V8 call site: the file that was actually
 * evaluated. Under `node --enable-source-maps dist/app.js` the stack string names the
 * original `src/*.ts`, which a worker must not import (it may not even be deployed).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { calleeColumn } from './callee.ts';

/** A user code position: module URL plus `line:column`. */
export interface CallSite {
  readonly moduleUrl: string;
  readonly line: number;
  readonly column: number;
  /** The file as the stack shows it, when source maps name another (`src/db.ts` for `dist/db.js`). */
  readonly shownUrl?: string;
}

const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;
const FRAME_LINE = /^\s*at /;
const STACK_LIMIT = 30;

/**
 * The file this copy of smartasync's code runs from, as V8 sees it: `dist/index.cjs`,
 * `dist/worker.js`, `src/registry/call-site.ts`, or a user's bundle that smartasync was bundled
 * into. Read from the stack rather than `import.meta.url`, which a bundler may leave empty
 * (ESM code bundled into CommonJS) or point at whatever file the code ended up in.
 */
function ownFileFromStack(): string | undefined {
  const sites = capture(true);
  const name = Array.isArray(sites) ? (sites[0] as NodeJS.CallSite | undefined)?.getFileName() : undefined;
  if (!name) return undefined;
  return name.startsWith('file:') ? fileURLToPath(name) : name;
}

/** The smartasync package this file belongs to (its folder), if it is one: not when bundled. */
function packageRootOf(file: string): string | undefined {
  let dir = path.dirname(file);
  for (let up = 0; up < 3; up++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      return pkg.name === 'smartasync' ? dir : undefined;
    } catch {
      // no package.json here: look further up
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** This file (of smartasync's code), wherever it runs from. */
export const OWN_FILE: string | undefined = ownFileFromStack();
const PACKAGE_ROOT = OWN_FILE ? packageRootOf(OWN_FILE) : undefined;

/**
 * The user's bundle that smartasync's code was bundled into, if it was: then its frames and the
 * user's share one file and call sites cannot tell them apart.
 */
export const BUNDLED_INTO: string | undefined = PACKAGE_ROOT ? undefined : OWN_FILE;

// Our own code: dist/ as installed, src/ when run from source. Under source maps, bundled
// frames print at their src/ paths, so the src/ beside dist/ is ours too. Frames there are
// never the user's. Bundled into a user's file, no folder is ours alone.
const OWN_DIRS = PACKAGE_ROOT ? [path.join(PACKAGE_ROOT, 'dist'), path.join(PACKAGE_ROOT, 'src')] : [];
const OWN_MARKERS = OWN_DIRS.flatMap((dir) => [dir + path.sep, pathToFileURL(dir).href + '/']);

/** Whether a rendered stack line is a frame of smartasync's own code. */
export function isOwnFrame(line: string): boolean {
  return FRAME_LINE.test(line) && OWN_MARKERS.some((marker) => line.includes(marker));
}

function toModuleUrl(location: string): string | undefined {
  let loc = location.replace(/^async /, '');
  if (loc.startsWith('file://')) loc = loc.replace(/[?#].*$/, '');
  else if (path.isAbsolute(loc)) loc = pathToFileURL(loc).href;
  else return undefined; // node:internal, eval, native, anonymous
  return loc;
}

/**
 * Packages whose frames sit between a decorated class and our decorator: compiler helpers
 * (tslib, SWC, Oxc, Babel) and the `Reflect.decorate` of reflect-metadata, which NestJS loads
 * and TypeScript's `__decorate` then calls. The user's module is the frame above them.
 */
const DECORATOR_HELPERS =
  /[\\/]node_modules[\\/](tslib|@oxc-project|@swc|@babel[\\/]runtime|reflect-metadata|@abraham[\\/]reflection)[\\/]/;

/**
 * Decorator helpers that compilers inline into the user's module (TypeScript's `__decorate`,
 * `__esDecorate`; SWC's `_ts_decorate`; esbuild's `__decorateClass`; Babel's `_applyDecs*`).
 * Their frame may differ between threads (`__decorate` takes another branch when
 * reflect-metadata's `Reflect.decorate` exists), so the site is the statement that called them.
 */
const HELPER_FRAME =
  /^\s*at (?:Object\.)?(?:__decorate|__esDecorate|__runInitializers|_ts_decorate|__decorateClass|__decorateElement|_applyDecs\w*)\b/;

function isOwnFile(url: string): boolean {
  const file = fileURLToPath(url);
  return OWN_DIRS.some((dir) => file.startsWith(dir + path.sep)) || DECORATOR_HELPERS.test(file);
}

/** The stack of our caller (frames from `userCallSite` down), rendered or as V8 call sites. */
function capture(structured: boolean): unknown {
  const saved = Error.stackTraceLimit;
  const savedPrepare = Error.prepareStackTrace;
  Error.stackTraceLimit = STACK_LIMIT;
  if (structured) Error.prepareStackTrace = (_err, sites) => sites;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, capture);
    return holder.stack; // formatted now, while our settings are in place
  } finally {
    Error.stackTraceLimit = saved;
    if (structured) Error.prepareStackTrace = savedPrepare;
  }
}

/** The first stack frame outside smartasync itself (and decorator helper libraries). */
export function userCallSite(): CallSite | undefined {
  const rendered = String(capture(false) ?? '')
    .split('\n')
    .filter((line) => FRAME_LINE.test(line));
  const sites = capture(true);
  // Both captures start at this function, so frame i of one is frame i of the other, unless
  // some custom stack formatter changed the shape; then we go by the rendered stack alone.
  const raw = Array.isArray(sites) && sites.length === rendered.length ? (sites as NodeJS.CallSite[]) : undefined;
  for (let i = 0; i < rendered.length; i++) {
    const m = FRAME.exec(rendered[i]!);
    const shownUrl = m ? toModuleUrl(m[1]!) : undefined;
    const rawFile = raw?.[i]?.getFileName();
    const rawUrl = rawFile ? toModuleUrl(rawFile) : undefined;
    if (!m || (!shownUrl && !rawUrl)) continue;
    if ((rawUrl && isOwnFile(rawUrl)) || (shownUrl && isOwnFile(shownUrl)) || HELPER_FRAME.test(rendered[i]!)) continue;
    const moduleUrl = rawUrl ?? shownUrl!;
    const line = Number(m[2]);
    const site = { moduleUrl, line, column: calleeColumn(shownUrl ?? moduleUrl, line, Number(m[3])) };
    return shownUrl && shownUrl !== moduleUrl ? { ...site, shownUrl } : site;
  }
  return undefined;
}

/** A readable location for error messages: `/app/db.ts:12:7` (the position's own file). */
export function describeSite(site: CallSite): string {
  const url = site.shownUrl ?? site.moduleUrl;
  let file = url;
  try {
    file = fileURLToPath(url);
  } catch {
    // not a file URL: show it as is
  }
  return `${file}:${site.line}:${site.column}`;
}

/**
 * Whether frames may be missing from the stack: JavaScriptCore (Bun's engine) implements
 * proper tail calls, so `function make() { return smartasync(fn); }` leaves no frame of
 * `make`, and the stack shows the line that called `make()` as if it had called smartasync.
 */
export const tailCallsDropFrames: boolean = typeof process.versions.bun === 'string';

const CALL_AT = /^([A-Za-z_$][\w$]*)\s*\(/;

/**
 * The function called at `site`, read from its source (`makeDoubler` for
 * `const d = makeDoubler();`), and the local names the file gives smartasync's own exports
 * (`smartasync`, or `wrap` after `import { smartasync as wrap }`). Undefined when the file
 * cannot be read or no plain call starts at that position.
 */
export function callAt(site: CallSite): { callee: string; ownNames: Set<string> } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(fileURLToPath(site.shownUrl ?? site.moduleUrl), 'utf8');
  } catch {
    return undefined;
  }
  const callee = CALL_AT.exec(text.split(/\r?\n/)[site.line - 1]?.slice(site.column - 1) ?? '')?.[1];
  if (!callee) return undefined;
  const ownNames = new Set(['smartasync', 'offloadable', 'offload', 'registerError']);
  // import { a, b as c } from 'smartasync' / const { a, b: c } = require('smartasync')
  const lists = /(?:import\s*(?:type\s*)?\{([^}]*)\}\s*from|\{([^}]*)\}\s*=\s*require\()\s*['"]smartasync['"]/g;
  for (const m of text.matchAll(lists)) {
    for (const part of (m[1] ?? m[2] ?? '').split(',')) {
      const local = part
        .trim()
        .split(/\s+as\s+|\s*:\s*/)
        .at(-1);
      if (local) ownNames.add(local);
    }
  }
  return { callee, ownNames };
}
