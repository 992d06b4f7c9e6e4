/**
 * The pool's options, checked before any worker starts: a bad value is a clear error at
 * `configure()`, never a worker that cannot start, a process that aborts (V8 aborts the whole
 * process for a heap of 2 MB or less, and a stack under half a MB crashes it), or a thread per
 * call.
 */
import type { HeadOfLineOptions, PoolOptions } from '../types.ts';

/**
 * Worker threads at most. Each worker costs a thread and 10-20 MB; a pool is for the cores and
 * the blocking connections an app has, and a size far above both only multiplies memory.
 */
export const MAX_SIZE = 256;
/** Calls sent to one worker ahead of time at most (each holds a claim slot in shared memory). */
export const MAX_CONCURRENCY = 1024;

/** The `resourceLimits` a worker may take, and the least value of each that lets one start. */
const LIMIT_MINIMUMS: Record<string, number> = {
  maxOldGenerationSizeMb: 16,
  maxYoungGenerationSizeMb: 1,
  codeRangeSizeMb: 0,
  stackSizeMb: 0.5,
};

const KNOWN = new Set<string>([
  'size',
  'maxQueue',
  'concurrencyPerWorker',
  'resourceLimits',
  'execArgv',
  'headOfLine',
  'workerNice',
] satisfies (keyof PoolOptions)[]);

function show(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

function wholeNumber(name: string, value: unknown, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `smartasync: pool option ${name} must be a whole number from 1 to ${max}, got ${show(value)}.`,
    );
  }
}

function checkLimits(limits: unknown): void {
  if (limits === undefined) return;
  if (typeof limits !== 'object' || limits === null)
    throw new TypeError(`smartasync: pool option resourceLimits must be an object, got ${show(limits)}.`);
  for (const [key, value] of Object.entries(limits)) {
    const least = LIMIT_MINIMUMS[key];
    if (least === undefined) {
      throw new TypeError(
        `smartasync: resourceLimits.${key} is not a worker limit; the limits are ${Object.keys(LIMIT_MINIMUMS).join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < least) {
      throw new RangeError(
        `smartasync: resourceLimits.${key} must be a number of megabytes of at least ${least} ` +
          `(less than that and a worker cannot start, or takes the whole process down), got ${show(value)}.`,
      );
    }
  }
}

function checkHeadOfLine(hol: unknown): void {
  if (hol === undefined || typeof hol === 'boolean') return;
  if (typeof hol !== 'object' || hol === null) {
    throw new TypeError(
      `smartasync: pool option headOfLine must be true, false or an object of settings, got ${show(hol)}.`,
    );
  }
  const keys: readonly (keyof HeadOfLineOptions)[] = ['longCallMs', 'holdMs', 'reservedCores'];
  for (const [name, value] of Object.entries(hol)) {
    if (!keys.includes(name as keyof HeadOfLineOptions))
      throw new TypeError(`smartasync: headOfLine.${name} is not a setting; the settings are ${keys.join(', ')}.`);
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new RangeError(`smartasync: headOfLine.${name} must be a finite number of at least 0, got ${show(value)}.`);
    }
  }
}

/** Throws, naming the option and what it takes, for anything but valid pool options. */
export function validatePoolOptions(options: unknown): asserts options is PoolOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`smartasync: pool options must be an object, got ${show(options)}.`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key))
      throw new TypeError(`smartasync: ${key} is not a pool option; the options are ${[...KNOWN].join(', ')}.`);
  }
  wholeNumber('size', o.size, MAX_SIZE);
  wholeNumber('maxQueue', o.maxQueue, Number.MAX_SAFE_INTEGER);
  wholeNumber('concurrencyPerWorker', o.concurrencyPerWorker, MAX_CONCURRENCY);
  checkLimits(o.resourceLimits);
  if (o.execArgv !== undefined && (!Array.isArray(o.execArgv) || o.execArgv.some((a) => typeof a !== 'string')))
    throw new TypeError(`smartasync: pool option execArgv must be an array of strings, got ${show(o.execArgv)}.`);
  checkHeadOfLine(o.headOfLine);
  const nice = o.workerNice;
  if (nice !== undefined && (typeof nice !== 'number' || !Number.isInteger(nice) || nice < 0 || nice > 19)) {
    throw new RangeError(
      `smartasync: pool option workerNice must be a whole number from 0 to 19 (nice steps below the ` +
        `thread that starts the pool; 0 keeps its priority), got ${show(nice)}.`,
    );
  }
}
