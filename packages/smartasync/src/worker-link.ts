/**
 * What a calling thread knows about one worker (a pool worker or the sync bridge): which
 * targets it has been told about, which instances it holds replicas of, and the next request
 * number. It turns a Task into the request that worker needs: definitions and constructor
 * arguments only the first time.
 */
import type { CallRequest, PrepareRequest, TargetDef } from './protocol.ts';
import type { InstanceRef, Task } from './task.ts';
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

  /** The target's id, and its definition the first time this worker hears of it. */
  private target(reg: Registration): { id: number; def: TargetDef | undefined } {
    const def = targetDef(reg);
    return { id: def.id, def: this.known.has(def.id) ? undefined : def };
  }

  /** Whether this is the first request for `inst` here (its constructor arguments go along). */
  private firstFor(inst: InstanceRef | undefined): boolean {
    return inst !== undefined && !this.replicas.has(inst.id);
  }

  /**
   * Records that `request` (made by this link, numbered `nextSeq`) was sent: the worker now
   * knows its target and holds its instance's constructor arguments. Building a request
   * changes nothing, so a request that could not be sent leaves no trace.
   */
  sent(request: CallRequest | PrepareRequest): void {
    this.nextSeq = request.seq + 1;
    if (request.def) this.known.add(request.def.id);
    if (request.instance?.ctorArgs) this.replicas.add(request.instance.id);
  }

  /**
   * The request that runs `task` there, numbered `seq` (`nextSeq`), and whether it is plain
   * JSON data. Call `sent()` once it is sent.
   * Absent parts stay undefined rather than spread out: JSON omits them, and one literal of
   * one shape is cheaper on this hot path.
   */
  callRequest(task: Task, seq: number, measureCpu: boolean): { request: CallRequest; json: boolean } {
    const { id, def } = this.target(task.reg);
    const inst = task.instance;
    const needsCtor = this.firstFor(inst);
    const request: CallRequest = {
      op: 'call',
      seq,
      target: id,
      args: task.args,
      def,
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
      measureCpu: measureCpu || undefined,
    };
    return { request, json: !task.argsReport && !(needsCtor && inst!.ctorReport) };
  }

  /** The request that loads `reg`'s module there, and builds `inst`'s replica if given. */
  prepareRequest(reg: Registration, inst: InstanceRef | undefined, seq: number): { request: PrepareRequest; json: boolean } {
    const { id, def } = this.target(reg);
    const needsCtor = this.firstFor(inst);
    const instance = inst
      ? { id: inst.id, ctorArgs: needsCtor ? inst.ctorArgs : undefined, ctorBuffers: needsCtor ? inst.ctorReport?.buffers : undefined }
      : undefined;
    const request: PrepareRequest = { op: 'prepare', seq, target: id, def, instance };
    return { request, json: !(needsCtor && inst!.ctorReport) };
  }
}
