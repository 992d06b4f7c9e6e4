// cli.ts — sync callers use .sync: same class, same thread, no await
import { Users } from './users.ts';

const users = new Users('users.db');
users.add.sync(process.argv[2] ?? 'Ada');
console.table(users.all.sync());
