// main.ts
import { hash } from './hash.ts';

console.log(await hash('secret'));   // Promise<string>: runs on a pool worker
console.log(hash.sync('secret'));    // string: runs here, inline
