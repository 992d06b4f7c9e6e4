// server.ts — awaited: the rows are read on a worker and arrive in chunks
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { exportUsers } from './export-users.ts';

async function* ndjson() {
  for await (const user of exportUsers('users.db')) yield JSON.stringify(user) + '\n';
}
const app = Fastify();
app.get('/users.ndjson', (_request, reply) => reply.type('application/x-ndjson').send(Readable.from(ndjson())));
await app.listen({ port: Number(process.env.PORT) || 3000 });
