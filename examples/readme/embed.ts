// npm run readme (at the root): rewrites the README's marked code blocks from their files.
import fs from 'node:fs';
import { README, embed } from './blocks.ts';

const before = fs.readFileSync(README, 'utf8');
const after = embed(before);
if (after !== before) fs.writeFileSync(README, after);
console.log(after === before ? 'README.md: every block already matches its files' : 'README.md: blocks rewritten');
