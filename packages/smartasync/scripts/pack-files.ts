// prepack: the files the package ships that are written for the repository. README.md is the
// repository's README made fit for the registry page: the sections about this repository
// (the example application, developing it) and lines marked repo-only dropped, the code
// block markers dropped, and relative links and images made absolute, since the registry
// page has no repository around it. LICENSE is the repository's. package.json is packed
// without its scripts, which need the repository (prepack would fail in the unpacked
// package); postpack (`--restore`) puts the repository's back.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY = 'https://github.com/smartasync/smartasync';
const BRANCH = 'main';
const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(PACKAGE_DIR, '../..');

/** Sections of the repository's README that are about the repository, not the package. */
export const REPO_ONLY_SECTIONS = ['The example application', 'Developing this repository'];

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** An absolute URL for a link or image target relative to the repository root. */
function absolute(target: string, image: boolean): string {
  const [file, anchor] = target.split('#') as [string, string | undefined];
  const full = path.join(REPO_ROOT, file);
  if (!fs.existsSync(full)) throw new Error(`README.md links to ${target}, which does not exist`);
  const suffix = anchor === undefined ? '' : `#${anchor}`;
  if (image) return `https://raw.githubusercontent.com/smartasync/smartasync/${BRANCH}/${file}`;
  const kind = fs.statSync(full).isDirectory() ? 'tree' : 'blob';
  return `${REPOSITORY}/${kind}/${BRANCH}/${file.replace(/\/$/, '')}${suffix}`;
}

/** The package's README, from the repository's. */
export function packageReadme(markdown: string): string {
  const dropped = new Set(REPO_ONLY_SECTIONS.map(slug));
  const out: string[] = [];
  let skipping = false;
  let repoOnly = false;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,6}) (.+)$/.exec(line);
    if (heading && heading[1] === '##') skipping = REPO_ONLY_SECTIONS.includes(heading[2]!);
    if (line === '<!-- repo-only -->') repoOnly = true;
    const skip = skipping || repoOnly || /^<!-- (code: .*|\/?repo-only) -->$/.test(line);
    if (line === '<!-- /repo-only -->') repoOnly = false;
    if (!skip) out.push(line);
  }
  return (
    out
      .join('\n')
      // Links to the dropped sections: out of the lists of links (the contents), plain text elsewhere.
      .split('\n')
      .map((line) => {
        const list = /^- (.*· .*)$/.exec(line);
        if (!list) return line;
        const kept = list[1]!
          .split(' · ')
          .filter((item) => !dropped.has(/^\[[^\]]*\]\(#([^)]+)\)$/.exec(item)?.[1] ?? ''));
        return `- ${kept.join(' · ')}`;
      })
      .join('\n')
      .replace(/\[([^\]]*)\]\(#([^)]+)\)/g, (link, text: string, anchor: string) => (dropped.has(anchor) ? text : link))
      .replace(/(!?)\[([^\]]*)\]\(([^)\s]+)\)/g, (link, bang: string, text: string, target: string) =>
        /^(https?:|mailto:|#)/.test(target) ? link : `${bang}[${text}](${absolute(target, bang === '!')})`,
      )
      .replace(/\n{3,}/g, '\n\n')
  );
}

const MANIFEST = path.join(PACKAGE_DIR, 'package.json');
/** The repository's package.json while the packed one is in its place. */
const KEPT_MANIFEST = path.join(PACKAGE_DIR, '.tmp', 'package.json');

/** postpack: the repository's package.json back (also run first by prepack, after a pack that died half-way). */
function restoreManifest(): void {
  if (fs.existsSync(KEPT_MANIFEST)) fs.renameSync(KEPT_MANIFEST, MANIFEST);
}

/** The package.json that ships: the repository's without its scripts. */
function writePackedManifest(): void {
  restoreManifest();
  const text = fs.readFileSync(MANIFEST, 'utf8');
  const { scripts: _scripts, ...packed } = JSON.parse(text) as Record<string, unknown>;
  fs.mkdirSync(path.dirname(KEPT_MANIFEST), { recursive: true });
  fs.writeFileSync(KEPT_MANIFEST, text);
  fs.writeFileSync(MANIFEST, `${JSON.stringify(packed, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--restore')) {
    restoreManifest();
  } else {
    const readme = packageReadme(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    fs.writeFileSync(path.join(PACKAGE_DIR, 'README.md'), readme);
    fs.copyFileSync(path.join(REPO_ROOT, 'LICENSE'), path.join(PACKAGE_DIR, 'LICENSE'));
    writePackedManifest();
  }
}
