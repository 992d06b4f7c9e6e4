/**
 * One position per call, whoever compiled it. A worker finds a registration by its call
 * site, so both threads must report the same `line:column` for the same call in the source.
 * They do not when the code was compiled to a different shape: TypeScript's CommonJS output
 * (ts-jest, tsc) calls an import as `(0, smartasync_1.smartasync)(fn)`, for which V8 reports
 * the position of the argument list's `(`, mapped back to the `(` after `smartasync` in the
 * source; the same file stripped of its types (a worker on Node's type stripping) or compiled
 * to ESM reports the start of `smartasync`. Reading the source line, a position on a call's
 * `(` moves back to the start of the name called (past type arguments), which is what V8
 * reports for a direct call, so both forms give one key.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Source lines by file, for the registrations of one module evaluation: they all happen in
 * one synchronous run, so the cache is dropped at the next turn of the event loop (a test
 * runner's watch mode may evaluate an edited file again).
 */
const lines = new Map<string, readonly string[] | undefined>();

function sourceLine(url: string, line: number): string | undefined {
  if (!lines.has(url)) {
    if (lines.size === 0) setImmediate(() => lines.clear());
    let text: string | undefined;
    try {
      text = fs.readFileSync(fileURLToPath(url), 'utf8');
    } catch {
      // not a readable file (a bundle's virtual module, a data: URL): positions stay as reported
    }
    lines.set(url, text?.split(/\r?\n/));
  }
  return lines.get(url)?.[line - 1];
}

const SPACE = /\s/;
const NAME = /[\w$]/;

/** Index of the first character of the callee name ending before `paren` in `text`, if there is one. */
function calleeStartBefore(text: string, paren: number): number | undefined {
  let i = paren - 1;
  while (i >= 0 && SPACE.test(text[i]!)) i--;
  if (text[i] === '>') {
    // Type arguments: smartasync<typeof f>(f).
    for (let depth = 0; i >= 0; i--) {
      if (text[i] === '>') depth++;
      else if (text[i] === '<' && --depth === 0) break;
    }
    i--;
    while (i >= 0 && SPACE.test(text[i]!)) i--;
  }
  const end = i;
  while (i >= 0 && NAME.test(text[i]!)) i--;
  return i === end ? undefined : i + 1;
}

/**
 * The column of the call at `line:column` of the file at `url` (the file the position is
 * in), as a direct call reports it: unchanged unless it points at a call's `(`.
 */
export function calleeColumn(url: string, line: number, column: number): number {
  const text = sourceLine(url, line);
  if (text?.[column - 1] !== '(') return column;
  const start = calleeStartBefore(text, column - 1);
  return start === undefined ? column : start + 1;
}
