// The whole of the smartasync integration. It lives in its own module, imported by the app
// and by the CLI, because pool workers import this module to find the class again: it must
// not be the process entry module, which would start the server again in every worker.
import { smartasync } from 'smartasync';
import { DatabaseManager } from './manager.ts';

export const AsyncDatabaseManager = smartasync(DatabaseManager);
