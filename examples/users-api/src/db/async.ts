// The whole of the smartasync integration. It lives in its own module, imported by the app
// and by the CLI, because pool workers import this module to find the class again: it must
// not be the process entry module, which would start the server again in every worker.
import { smartasync } from 'smartasync';
import { DatabaseManager } from './manager.ts';

export const AsyncDatabaseManager = smartasync(DatabaseManager);

// The same class, but methods whose calls keep finishing under 0.1 ms (primary-key reads)
// run inline: the hand-off to a worker would cost more than the event loop loses. The state
// lives in the database, so an inline call on this thread's connection sees the same data.
export const AutoDatabaseManager = smartasync(DatabaseManager, { offload: 'auto' });
