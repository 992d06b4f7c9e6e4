// main.ts — called like the function it is, typed Promise<string>
import { hash } from './hash.ts';

const passwords = ['correct horse', 'battery staple', 'hunter2'];
const hashes = await Promise.all(passwords.map((password) => hash(password, 'per-app salt')));
console.log(hashes.join('\n'));
