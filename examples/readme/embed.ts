// npm run readme (at the root): rewrites the marked code blocks of the README and of
// docs/migrating.md from their files.
import fs from 'node:fs';
import path from 'node:path';
import { DOCUMENTS, REPO_ROOT, embed } from './blocks.ts';

for (const document of DOCUMENTS) {
  const name = path.relative(REPO_ROOT, document);
  const before = fs.readFileSync(document, 'utf8');
  const after = embed(before);
  if (after !== before) fs.writeFileSync(document, after);
  console.log(after === before ? `${name}: every block already matches its files` : `${name}: blocks rewritten`);
}
