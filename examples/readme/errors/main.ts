// main.ts
import { InsufficientFunds, withdraw } from './funds.ts';

try {
  await withdraw(10, 25);                       // throws on a worker
} catch (err) {
  console.log(err instanceof InsufficientFunds, (err as Error).message);   // true 15 short
}
