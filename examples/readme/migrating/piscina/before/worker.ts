// worker.ts — piscina loads this file in each of its threads and runs its default export
import { scryptSync } from 'node:crypto';

export default function hash({ password, salt }: { password: string; salt: string }): string {
  return scryptSync(password, salt, 64).toString('hex');
}
