import { UserStore, Users } from '../intro/users.ts';

const users = new Users('users.db');           // UserStore's constructor runs here: the table exists now
await users.add('Ada');                        // on a worker, on that worker's replica of UserStore
users.add.sync('Grace');                       // here, on users.sync
console.log(await users.all());                // both rows: one database, a connection per thread
console.log(users.sync instanceof UserStore);  // true: the plain instance, typed as UserStore
await users.close();                           // every replica's close(), then this thread's
