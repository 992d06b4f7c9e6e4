// The site's pages, made from what the repository already has: the README's sections as
// guides, the migration guide, SECURITY.md, and the examples (their READMEs, with the files of
// each program shown below). Nothing here is written twice: a page is its source file's text,
// with its links pointed at the site's pages.
import fs from 'node:fs';
import path from 'node:path';
import { headings } from './markdown.ts';
import { DOCS_DIR, REPO_ROOT, repoPath } from './paths.ts';

export type Group = 'Guides' | 'Examples' | 'Project';

export interface Page {
  /** The staged file's name, without `.md`; `index` is the home page. */
  readonly id: string;
  readonly title: string;
  readonly group: Group;
  /** The repository file its text comes from (its relative links are relative to it). */
  readonly from: string;
  /** Its Markdown, links as written in `from`. */
  readonly body: string;
  /** Repository files shown on the page, each under a heading of its own path. */
  readonly files: readonly string[];
  /** The tests that run the program, linked below its files. */
  readonly tests?: readonly string[];
  /** Repository folder the page stands for (an example's), if any. */
  readonly folder?: string;
}

/** The README's sections about this repository rather than the library. */
const PROJECT_SECTIONS = new Set(['The example application', 'Benchmarks', 'Developing this repository']);
/** Sections that stay on the home page: its list of contents links to the pages. */
const HOME_SECTIONS = new Set(['Contents']);

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
/** The comment lines that only the README's tooling reads (code markers, repo-only marks). */
const withoutMarkers = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => !/^<!-- (code: .*|\/?repo-only) -->$/.test(line))
    .join('\n');

/** Headings one level up, so that a README section's `##` title is its page's `#`. */
function promoteHeadings(markdown: string): string {
  const lines = markdown.split('\n');
  for (const h of headings(markdown)) lines[h.line] = lines[h.line]!.replace(/^#(#+)/, '$1');
  return lines.join('\n');
}

/**
 * The README: its opening and contents as the home page (without the `# smartasync` title,
 * which the site's header shows), each other `##` section a page of its own.
 */
function readmePages(): Page[] {
  const text = withoutMarkers(read('README.md'));
  const lines = text.split('\n');
  const sections = headings(text).filter((h) => h.level === 2);
  const sectionText = (i: number) => lines.slice(sections[i]!.line, sections[i + 1]?.line).join('\n');
  const opening = lines.slice(0, sections[0]?.line).filter((line) => line !== '# smartasync');
  const home = sections.flatMap((s, i) => (HOME_SECTIONS.has(s.text) ? [sectionText(i)] : []));
  const pages: Page[] = [
    {
      id: 'index',
      title: 'smartasync',
      group: 'Guides',
      from: 'README.md',
      body: [...opening, ...home].join('\n'),
      files: [],
    },
  ];
  sections.forEach((section, i) => {
    if (HOME_SECTIONS.has(section.text)) return;
    pages.push({
      id: section.slug,
      title: section.text,
      group: PROJECT_SECTIONS.has(section.text) ? 'Project' : 'Guides',
      from: 'README.md',
      body: promoteHeadings(sectionText(i)),
      files: [],
    });
  });
  return pages;
}

/** A page whose whole text is one Markdown file, titled by its first heading. */
export function documentPage(id: string, group: Group, from: string, extra: Partial<Page> = {}): Page {
  const body = withoutMarkers(read(from));
  const title = extra.title ?? headings(body).find((h) => h.level === 1)?.text;
  if (!title) throw new Error(`${from} has no # title`);
  return { id, title, group, from, body, files: [], ...extra };
}

/** Every file under `dir` (repository-relative) with one of `extensions`, sorted. */
function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const full = path.join(REPO_ROOT, dir);
  return fs
    .readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => extensions.some((ext) => f.endsWith(ext)))
    .map((f) => `${dir}/${f.split(path.sep).join('/')}`)
    .sort();
}

/** An example with a README of its own: the README, then every source file of the program. */
function examplePage(name: string, { sources = true, title = undefined as string | undefined } = {}): Page {
  const folder = `examples/${name}`;
  return documentPage(`example-${name}`, 'Examples', `${folder}/README.md`, {
    folder,
    ...(title ? { title } : {}),
    files: sources ? filesUnder(`${folder}/src`, ['.ts']) : [],
    tests: sources ? filesUnder(`${folder}/test`, ['.test.ts']) : [],
  });
}

const STREAMING = 'examples/readme/streaming';
/** The app the bundler plugins are tested on. */
const BUNDLED = 'packages/smartasync/test/fixtures/bundled/src';

/** The pages in the order the site lists them. */
export function sitePages(): Page[] {
  const docs = repoPath(DOCS_DIR);
  return [
    ...readmePages(),
    documentPage('migrating', 'Guides', `${docs}/migrating.md`),
    examplePage('express'),
    examplePage('hono'),
    examplePage('nestjs'),
    documentPage('example-streaming', 'Examples', `${docs}/examples/streaming.md`, {
      folder: STREAMING,
      files: ['export-users.ts', 'server.ts', 'cli.ts'].map((file) => `${STREAMING}/${file}`),
      tests: ['examples/readme/test/readme.test.ts'],
    }),
    documentPage('example-bundlers', 'Examples', `${docs}/examples/bundlers.md`, {
      folder: BUNDLED,
      files: filesUnder(BUNDLED, ['.js', '.ts']),
      tests: ['packages/smartasync/test/bundlers.test.ts'],
    }),
    examplePage('users-api', { sources: false, title: 'The users API (the example application)' }),
    documentPage('security', 'Project', 'SECURITY.md'),
  ];
}
