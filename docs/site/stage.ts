// Writes the site's pages as the Markdown documents TypeDoc reads, their links pointed at the
// site: a link to another page's text (a README section, an example's README) goes to that
// page and its heading; a link to a file shown on a page goes to it there; an image is copied
// with the site; any other file or folder of the repository is linked on the repository's
// web site. A link to a file, folder or heading that does not exist fails the build here,
// naming the page and the link; TypeDoc then checks the links it writes, and the finished
// site is checked page by page (links.ts).
import fs from 'node:fs';
import path from 'node:path';
import { githubSlug, headings, rewriteLinks, type Link } from './markdown.ts';
import type { Page } from './pages.ts';
import { REPO_ROOT, repoPath, repositoryUrl } from './paths.ts';

/** Where each heading of each source file is shown: `from` → GitHub anchor → page and anchor. */
type Anchors = Map<string, Map<string, { page: Page; anchor: string | undefined }>>;

function anchorsOf(pages: readonly Page[]): Anchors {
  const anchors: Anchors = new Map();
  for (const page of pages) {
    const ofFile = anchors.get(page.from) ?? new Map();
    anchors.set(page.from, ofFile);
    headings(page.body).forEach((h, i) => {
      // A page's own title is the page itself.
      ofFile.set(h.slug, { page, anchor: i === 0 && page.id !== 'index' ? undefined : h.slug });
    });
    for (const file of page.files) {
      anchors.set(file, new Map([['', { page, anchor: githubSlug(file.slice(commonFolder(page).length)) }]]));
    }
  }
  return anchors;
}

/** The folder a page's files are shown relative to. */
function commonFolder(page: Page): string {
  return page.folder ? `${page.folder}/` : '';
}

const pageLink = (page: Page, anchor: string | undefined) => `${page.id}.md${anchor ? `#${anchor}` : ''}`;

interface Site {
  readonly pages: readonly Page[];
  readonly anchors: Anchors;
  /** The folder the pages are written to. */
  readonly dir: string;
}

/** Where a link of `page` goes on the site, or why it cannot. */
function resolve(page: Page, link: Link, { pages, anchors, dir }: Site): string {
  const { target } = link;
  if (/^(https?:|mailto:)/.test(target)) return target; // outside: not checked, there is no network here
  const [file, fragment] = target.split('#') as [string, string | undefined];
  const full =
    file === '' ? path.join(REPO_ROOT, page.from) : path.resolve(path.join(REPO_ROOT, path.dirname(page.from)), file);
  const rel = repoPath(full);
  if (!fs.existsSync(full)) throw new Error(`${target}: ${rel} does not exist`);
  if (link.image) return path.relative(dir, full).split(path.sep).join('/'); // TypeDoc copies it
  const shown = anchors.get(rel);
  if (shown) {
    const at = shown.get(fragment ?? '') ?? (fragment === undefined ? undefined : null);
    if (at === null) throw new Error(`${target}: ${rel} has no heading #${fragment}`);
    if (at) return at.page === page && at.anchor ? `#${at.anchor}` : pageLink(at.page, at.anchor);
    const whole = pages.find((p) => p.from === rel);
    if (whole) return pageLink(whole, undefined);
  }
  const folder = pages.find((p) => p.folder === rel.replace(/\/$/, ''));
  if (folder && fragment === undefined) return pageLink(folder, undefined);
  if (fragment !== undefined)
    throw new Error(`${target}: ${rel} is not on the site, so #${fragment} cannot be checked`);
  const kind = fs.statSync(full).isDirectory() ? 'tree' : 'blob';
  return `${repositoryUrl()}/${kind}/main/${rel}`;
}

/** The files of a program shown on its page, each under a heading of its path. */
function filesSection(page: Page): string {
  if (page.files.length === 0) return '';
  const where = page.folder ?? path.dirname(page.files[0]!);
  const parts = [
    `## The files`,
    '',
    `As they are in the repository ([\`${where}/\`](${repositoryUrl()}/tree/main/${where})):`,
  ];
  for (const file of [...page.files, ...(page.tests ?? [])])
    if (!fs.existsSync(path.join(REPO_ROOT, file)))
      throw new Error(`${page.from}: its page shows ${file}, which does not exist`);
  if (page.tests?.length) {
    const links = page.tests.map((file) => `[\`${path.basename(file)}\`](${repositoryUrl()}/blob/main/${file})`);
    parts.push('', `The test that runs it: ${links.join(', ')}.`);
  }
  for (const file of page.files) {
    const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').trimEnd();
    const language = path.extname(file).slice(1);
    parts.push('', `### ${file.slice(commonFolder(page).length)}`, '', '```' + language, text, '```');
  }
  return parts.join('\n');
}

function frontmatter(page: Page): string {
  return ['---', `title: ${JSON.stringify(page.title)}`, `group: ${page.group}`, '---', ''].join('\n');
}

/**
 * Writes every page to `dir` as `<id>.md` and returns the files in site order. Throws, naming
 * each, if any link points at nothing.
 */
export function stagePages(pages: readonly Page[], dir: string): string[] {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const site: Site = { pages, anchors: anchorsOf(pages), dir };
  const broken: string[] = [];
  const written = pages.map((page) => {
    const body = rewriteLinks(page.body, (link) => {
      try {
        return resolve(page, link, site);
      } catch (err) {
        broken.push(`${page.from}: broken link ${(err as Error).message}`);
        return link.target;
      }
    });
    const file = path.join(dir, `${page.id}.md`);
    const head = page.id === 'index' ? '' : frontmatter(page);
    fs.writeFileSync(file, `${head}${body.trimEnd()}\n${page.files.length ? `\n${filesSection(page)}\n` : ''}`);
    return file;
  });
  if (broken.length > 0) throw new Error(`broken links:\n  ${[...new Set(broken)].join('\n  ')}`);
  return written;
}
