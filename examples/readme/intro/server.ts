// server.ts — async callers await; the query runs on a worker, the event loop stays free
import Fastify from 'fastify';
import { Users } from './users.ts';

const users = new Users('users.db');          // each worker opens its own connection on first use
const app = Fastify();
app.get('/users', () => users.all());         // Promise<{ id: number; name: string }[]>
await app.listen({ port: Number(process.env.PORT) || 3000 });
