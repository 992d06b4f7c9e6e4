/**
 * Where was `smartasync(...)` called? A worker finds the user's function again by importing
 * that module and looking up the same position, so the position must read the same on every
 * thread. We read it from `Error().stack` rather than raw V8 call sites because the stack
 * string honours whatever source-map support is active (tsx, Vitest), and workers importing
 * the original TypeScript (native type stripping keeps positions) then agree with it.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

/** A user code position: module URL plus `line:column`. */
export interface CallSite {
  readonly moduleUrl: string;
  readonly line: number;
  readonly column: number;
}

// Our own package directory: frames inside it are never the user's call site.
const OWN_DIR = path.dirname(fileURLToPath(import.meta.url));
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

function toModuleUrl(location: string): string | undefined {
  let loc = location.replace(/^async /, '');
  if (loc.startsWith('file://')) loc = loc.replace(/[?#].*$/, '');
  else if (path.isAbsolute(loc)) loc = pathToFileURL(loc).href;
  else return undefined; // node:internal, eval, native, anonymous
  return loc;
}

function isOwnFrame(url: string): boolean {
  const file = fileURLToPath(url);
  return file.startsWith(OWN_DIR + path.sep) || /[\\/]node_modules[\\/](tslib|@oxc-project|@swc)[\\/]/.test(file);
}

/** The first stack frame outside smartasync itself (and decorator helper libraries). */
export function userCallSite(): CallSite | undefined {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const url = toModuleUrl(m[1]!);
    if (!url || isOwnFrame(url)) continue;
    return { moduleUrl: url, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** A readable location for error messages: `/app/db.ts:12:7`. */
export function describeSite(site: CallSite): string {
  let file = site.moduleUrl;
  try {
    file = fileURLToPath(site.moduleUrl);
  } catch {
    // not a file URL: show it as is
  }
  return `${file}:${site.line}:${site.column}`;
}
