/**
 * What a calling thread knows about one worker (a pool worker or the sync bridge): which
 * targets it has been told about, which instances it holds replicas of, and the next request
 * number. It turns a Task into the CallRequest that worker needs: definitions and
 * constructor arguments only the first time.
 */
import type { CallRequest, TargetDef } from './protocol.ts';
import type { Task } from './pool.ts';
import type { Registration } from './registry.ts';

// Target ids are per calling thread, shared by all its workers.
const targetIds = new Map<Registration, TargetDef>();

function targetDef(reg: Registration): TargetDef {
  let def = targetIds.get(reg);
  if (!def) {
    def = { id: targetIds.size + 1, key: reg.key, moduleUrl: reg.site?.moduleUrl ?? '', label: reg.label, where: reg.where };
    targetIds.set(reg, def);
  }
  return def;
}

export class WorkerLink {
  /** Target ids this worker has been sent a definition of. */
  readonly known = new Set<number>();
  /** Instance ids this worker has been sent constructor arguments of. */
  readonly replicas = new Set<number>();
  nextSeq = 1;

  /**
   * The request that runs `task` there, numbered `seq`, and whether it is plain JSON data.
   * Absent parts stay undefined rather than spread out: JSON omits them, and one literal of
   * one shape is cheaper on this hot path.
   */
  callRequest(task: Task, seq: number): { request: CallRequest; json: boolean } {
    const def = targetDef(task.reg);
    const firstHere = !this.known.has(def.id);
    if (firstHere) this.known.add(def.id);
    const inst = task.instance;
    const needsCtor = inst !== undefined && !this.replicas.has(inst.id);
    if (needsCtor) this.replicas.add(inst.id);
    const request: CallRequest = {
      op: 'call',
      seq,
      target: def.id,
      args: task.args,
      def: firstHere ? def : undefined,
      argBuffers: task.argsReport?.buffers,
      instance: inst
        ? {
            id: inst.id,
            method: task.method!,
            ctorArgs: needsCtor ? inst.ctorArgs : undefined,
            ctorBuffers: needsCtor ? inst.ctorReport?.buffers : undefined,
          }
        : undefined,
      watchFields: task.onChanged ? true : undefined,
      resultAsJson: task.resultAsJson || undefined,
    };
    return { request, json: !task.argsReport && !(needsCtor && inst.ctorReport) };
  }
}
