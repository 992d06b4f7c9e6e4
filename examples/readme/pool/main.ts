import { configure, getPool } from 'smartasync';
import { Users } from '../intro/users.ts';

configure({ size: 2, maxQueue: 1_000 });        // at start-up, before the first offloaded call
const users = new Users('users.db');
await getPool().warm(users);                    // start-up: workers, modules, replicas ready
console.log(await users.all());
console.log(getPool().stats());  // { workers, idleWorkers, queued, running, completed, failed, crashedWorkers,
                                 //   waitTime, runTime, heldBack, expressCalls }
await getPool().close();                        // graceful shutdown
