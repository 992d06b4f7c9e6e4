// Where the site's sources are, where it is staged and where it goes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.dirname(DOCS_DIR);
/** The built site (gitignored: `dist/`). */
export const OUT_DIR = path.join(DOCS_DIR, 'dist');
/** The Markdown pages made from the repository's files, which TypeDoc reads (gitignored: `.tmp/`). */
export const STAGE_DIR = path.join(DOCS_DIR, '.tmp', 'pages');

/** The repository's web address, from the library's package.json (`git+https://…/name.git`). */
export function repositoryUrl(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'packages/smartasync/package.json'), 'utf8')) as {
    repository: { url: string };
  };
  return manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
}

/** A path from the repository root, with forward slashes. */
export function repoPath(file: string): string {
  return path.relative(REPO_ROOT, file).split(path.sep).join('/');
}
