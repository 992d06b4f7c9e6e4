// reports.ts — offloaded code, in a module that also starts a server when it is imported
import Fastify from 'fastify';
import { isWorker, smartasync } from 'smartasync';

export const monthlyTotal = smartasync((month: number) => {
  let total = 0;
  for (let order = 1; order <= 1_000_000; order++) total += (order * month) % 7; // the heavy part
  return { month, total };
});

// Each worker imports this module to find monthlyTotal: only the main thread listens.
if (!isWorker) {
  const app = Fastify();
  app.get<{ Params: { month: string } }>('/report/:month', (request) => monthlyTotal(Number(request.params.month)));
  await app.listen({ port: Number(process.env.PORT) || 3000 });
}
