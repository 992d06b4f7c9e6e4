// The candidate registry. Each adapter module is loaded on its own so that one that cannot
// load (smartasync not built yet, a peer missing) is reported as unavailable instead of
// stopping the whole run.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { AdapterModule, AsyncCandidate, SyncCandidate } from '../types.ts';

export const BUILTIN_ADAPTERS = ['./smartasync.ts', './peers.ts', './raw.ts', './sync-peers.ts'];

export interface Registry {
  asyncCandidates: AsyncCandidate[];
  syncCandidates: SyncCandidate[];
  unavailable: { adapter: string; error: string }[];
}

export async function loadRegistry(extra: string[] = []): Promise<Registry> {
  const reg: Registry = { asyncCandidates: [], syncCandidates: [], unavailable: [] };
  const specs = [
    ...BUILTIN_ADAPTERS.map((s) => new URL(s, import.meta.url).href),
    ...extra.map((p) => pathToFileURL(resolve(p)).href),
  ];
  for (const spec of specs) {
    try {
      const mod = (await import(spec)) as { default?: AdapterModule } & AdapterModule;
      const m = mod.default ?? mod;
      reg.asyncCandidates.push(...(m.asyncCandidates ?? []));
      reg.syncCandidates.push(...(m.syncCandidates ?? []));
    } catch (err) {
      reg.unavailable.push({ adapter: spec, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return reg;
}
