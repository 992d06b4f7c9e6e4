// funds.ts
import { registerError, smartasync } from 'smartasync';

export class InsufficientFunds extends Error {
  name = 'InsufficientFunds';
}
registerError(InsufficientFunds);               // at module top level, next to the class

export const withdraw = smartasync((balance: number, amount: number) => {
  if (amount > balance) throw new InsufficientFunds(`${amount - balance} short`);
  return balance - amount;
});
