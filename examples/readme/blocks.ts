// The TypeScript blocks of the README (and of docs/migrating.md) and the files they are made
// of. A block is marked by the comment line before its fence, naming its files relative to the
// repository root:
//
//   <!-- code: examples/readme/functions/hash.ts examples/readme/functions/main.ts -->
//   ```ts
//   (the files, one after another, a blank line between them)
//   ```
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const README = path.join(REPO_ROOT, 'README.md');
/** The migration guide, whose blocks are programs here too (migrating/). */
export const MIGRATING = path.join(REPO_ROOT, 'docs/migrating.md');
/** Every document whose marked blocks `npm run readme` writes from their files. */
export const DOCUMENTS = [README, MIGRATING];

const MARKER = /^<!-- code: (.+?) -->$/;
const FENCE = /^```(\w*)$/;

export interface Block {
  /** Files (from the repository root) the block is made of; empty for an unmarked block. */
  readonly files: string[];
  readonly language: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly text: string;
  /** Line indexes (0-based) of the first and last content lines' neighbours: the fences. */
  readonly open: number;
  readonly close: number;
}

/** Every fenced block of a Markdown text, with the files its marker names. */
export function parseBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]!);
    if (!fence) continue;
    let close = i + 1;
    while (close < lines.length && lines[close] !== '```') close++;
    const marker = i > 0 ? MARKER.exec(lines[i - 1]!) : null;
    blocks.push({
      files: marker ? marker[1]!.trim().split(/\s+/) : [],
      language: fence[1]!,
      line: i + 1,
      text: lines.slice(i + 1, close).join('\n'),
      open: i,
      close,
    });
    i = close;
  }
  return blocks;
}

/** What a block made of `files` must read: the files, without trailing blank lines, a blank line between them. */
export function expectedText(files: readonly string[]): string {
  return files.map((file) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').trimEnd()).join('\n\n');
}

/** The Markdown with every marked block rewritten from its files. */
export function embed(markdown: string): string {
  const lines = markdown.split('\n');
  // From the last block up, so that earlier line indexes stay valid.
  for (const block of parseBlocks(markdown).reverse()) {
    if (block.files.length === 0) continue;
    lines.splice(block.open + 1, block.close - block.open - 1, ...expectedText(block.files).split('\n'));
  }
  return lines.join('\n');
}
