/**
 * Finding the user's code again inside a worker: import the module that registered it (once
 * per thread), so that its top-level smartasync(...) calls register the same keys here, then
 * look the key up. TypeScript modules get the resolution fallbacks their test runners allow.
 */
import module from 'node:module';
import { lookupKey, importOnce, type Registration } from '../registry/registry.ts';
import { bundleLoader, BUNDLE_URL_PREFIX } from '../registry/bundle.ts';
import type { TargetDef } from '../wire/protocol.ts';
import { RegistrationError } from '../errors.ts';

const TS_FILE = /\.[cm]?tsx?$/;
let tsResolution = false;

/**
 * Test runners (Vitest) and bundler-style TypeScript let users write `import './db'` without
 * an extension; Node's own loader does not. When a worker imports a TypeScript module we
 * teach Node those spellings, only as a fallback after normal resolution fails.
 */
function enableTypeScriptResolution(): void {
  if (tsResolution || typeof module.registerHooks !== 'function') return;
  tsResolution = true;
  module.registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (err) {
        if (!/^\.\.?\//.test(specifier) || !context.parentURL || !TS_FILE.test(context.parentURL)) throw err;
        const candidates = [
          specifier
            .replace(/\.js$/, '.ts')
            .replace(/\.mjs$/, '.mts')
            .replace(/\.cjs$/, '.cts'),
          `${specifier}.ts`,
          `${specifier}.tsx`,
          `${specifier}/index.ts`,
        ];
        for (const candidate of candidates) {
          if (candidate === specifier) continue;
          try {
            return next(candidate, context);
          } catch {
            // try the next spelling
          }
        }
        throw err;
      }
    },
  });
}

async function loadModule(url: string): Promise<unknown> {
  if (url.startsWith(BUNDLE_URL_PREFIX)) {
    const id = url.slice(BUNDLE_URL_PREFIX.length);
    const load = bundleLoader(id);
    if (!load) {
      throw new Error(
        `this worker entry was not built with ${id} (it holds the modules of the build that made it). ` +
          "Deploy the worker entry that smartasync's bundler plugin wrote beside your bundle in the same build",
      );
    }
    return load();
  }
  if (!TS_FILE.test(url)) return import(url);
  enableTypeScriptResolution();
  try {
    return await import(url);
  } catch (err) {
    throw whyTypeScriptFailed(err) ?? err;
  }
}

/**
 * What to do when Node's type stripping cannot load a TypeScript module that the caller's
 * runner (Vitest, ts-jest, ts-node) compiled by itself: give the workers a loader too.
 */
function whyTypeScriptFailed(err: unknown): Error | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const loader = "give the workers a TypeScript loader with configure({ execArgv: ['--import', 'tsx'] })";
  if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    // Vitest and ts-node accept enums and parameter properties; type stripping does not.
    return new Error(
      `${String(message)}. Workers load TypeScript with Node's type stripping, which handles erasable syntax only: ` +
        `avoid enums, namespaces and parameter properties, or ${loader}`,
      { cause: err },
    );
  }
  if (
    err instanceof SyntaxError &&
    /Cannot use import statement outside a module|Unexpected token 'export'/.test(err.message)
  ) {
    // A "type": "commonjs" package, as ts-jest projects are: ts-jest compiles import/export
    // to require(); Node's type stripping keeps them, and CommonJS cannot hold them.
    return new Error(
      `${err.message}. Node loads this TypeScript file as CommonJS (the nearest package.json says "type": "commonjs"), ` +
        `and type stripping does not compile import/export to require() as ts-jest or tsc do: ${loader} ` +
        '(under Jest: in a module listed in setupFiles), or make the package "type": "module"',
      { cause: err },
    );
  }
  return undefined;
}

/** The registration `def` names, importing its module first if this thread has not. */
export async function findTarget(def: TargetDef): Promise<Registration> {
  const known = lookupKey(def.key);
  if (known) return known;
  try {
    await importOnce(def.moduleUrl, loadModule);
  } catch (err) {
    throw new RegistrationError(
      `smartasync: a worker could not import ${def.moduleUrl} to find ${def.label} (registered at ${def.where}): ` +
        `${(err as Error)?.message ?? String(err)}. The module must be importable on its own by Node in a worker ` +
        '(for TypeScript: run under tsx, or use erasable syntax that Node can strip).',
      { cause: err },
    );
  }
  const found = lookupKey(def.key);
  if (found) return found;
  throw new RegistrationError(
    `smartasync: ${def.label} was registered at ${def.where}, but importing that module in a worker did not register it again. ` +
      'smartasync() must run at module top level (not inside a function, a condition or a request handler), ' +
      'so that importing the module registers it. Move the smartasync(...) call to the top level of its module.',
  );
}
