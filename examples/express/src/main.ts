// Entry point: `npm start` (PORT, DATABASE_FILE). The store lives in its own module, as
// smartasync needs: a worker finds the class again by importing that module.
import { getPool } from 'smartasync';
import { createApp } from './app.ts';
import { Users } from './store.ts';

const users = new Users(process.env.DATABASE_FILE ?? 'users.db');
await getPool().warm(users); // workers and their connections ready before the first request
const port = Number(process.env.PORT ?? 3000);
createApp(users).listen(port, () => console.log(`listening on http://localhost:${port}`));
