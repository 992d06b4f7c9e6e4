import type { DatabaseManager } from '../../../../examples/users-api/src/db/manager.ts';
import { connection } from './connection.ts';

export default (args: Parameters<DatabaseManager['usersReport']>) => connection().usersReport(...args);
