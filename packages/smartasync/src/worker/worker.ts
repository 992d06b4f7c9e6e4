/** smartasync's own worker entry (dist/worker.js), for apps that are not bundled. */
import { startWorker } from './start.ts';

startWorker();
