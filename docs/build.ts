// npm run docs: builds the documentation site into docs/dist/ (gitignored).
//
//   1. stage: the README's sections, the guides and the examples as Markdown pages, their links
//      pointed at the site (a link to nothing fails here);
//   2. TypeDoc: the API reference from the TSDoc of the package's entry points, with the pages;
//      any warning fails the build, among them an export without TSDoc and a link or anchor
//      that does not resolve (typedoc.json);
//   3. the finished site is crawled and every link in it checked, anchors included (links.ts).
//
// Options, for the tests that show each check failing: --out DIR, --stage DIR (where the pages
// are written for TypeDoc), --options FILE (TypeDoc's options, in place of typedoc.json),
// --entry FILE (in place of the package's entry points), --page FILE (a Markdown file of the
// repository to add as a page).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { brokenLinks } from './site/links.ts';
import { documentPage, sitePages } from './site/pages.ts';
import { DOCS_DIR, OUT_DIR, REPO_ROOT, repoPath, STAGE_DIR } from './site/paths.ts';
import { stagePages } from './site/stage.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: OUT_DIR },
    stage: { type: 'string', default: STAGE_DIR },
    entry: { type: 'string', multiple: true },
    options: { type: 'string', default: path.join(DOCS_DIR, 'typedoc.json') },
    page: { type: 'string', multiple: true },
  },
});
const out = path.resolve(values.out);
const typedoc = path.join(REPO_ROOT, 'node_modules/typedoc/bin/typedoc');

function fail(step: string, detail: string): never {
  console.error(`npm run docs: ${step} failed.\n${detail}`);
  process.exit(1);
}

let staged: string[];
try {
  const extra = (values.page ?? []).map((file) =>
    documentPage(`extra-${path.basename(file, '.md')}`, 'Guides', repoPath(path.resolve(file))),
  );
  staged = stagePages([...sitePages(), ...extra], path.resolve(values.stage));
} catch (err) {
  fail('staging the pages', (err as Error).message);
}
const [home, ...documents] = staged;
const args = [
  typedoc,
  '--options',
  path.resolve(values.options),
  '--out',
  out,
  '--readme',
  home!,
  ...documents.flatMap((file) => ['--projectDocuments', file]),
  ...(values.entry ?? []).flatMap((file) => ['--entryPoints', path.resolve(file)]),
];
const run = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: DOCS_DIR });
if (run.status !== 0) fail('TypeDoc', `typedoc exited with ${run.status ?? run.signal}: see its warnings above.`);

const broken = await brokenLinks(out);
if (broken.length > 0) fail('the link check', broken.map((b) => `  ${b}`).join('\n'));
console.log(`npm run docs: ${path.relative(process.cwd(), out) || '.'} built, every link checked.`);
