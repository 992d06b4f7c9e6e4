/**
 * The esbuild plugin. The app's build gives every module that imports smartasync a generated
 * module naming it; when the build ends, a second build with the same options bundles the
 * worker entry: smartasync's worker and every such module (not the entries), each evaluated
 * only when a call needs it. The worker entry is written beside every output file that holds
 * a generated module, which finds it relative to itself (`import.meta.url` or `__dirname`).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_WORKER_NAME,
  PACKAGE,
  moduleId,
  scopeModuleSource,
  workerEntrySource,
  type SmartasyncPluginOptions,
} from './shared.ts';

/** The parts of esbuild's build options the plugin reads (it passes on all of them). */
export interface EsbuildBuildOptions {
  /** The entries: their modules are left out of the worker entry, which must not evaluate them. */
  entryPoints?: unknown;
  /** Must be true: the plugin works on bundles. */
  bundle?: boolean;
  /** Must be `'node'`: the bundle runs on Node's worker threads. */
  platform?: string;
  /** `esm` or `cjs`: how the generated modules find the worker entry (`import.meta.url` or `__dirname`). */
  format?: string;
  /** The bundle's file: the worker entry takes its extension and is written beside it. */
  outfile?: string;
  /** The output folder: the worker entry is written beside each output file that needs it. */
  outdir?: string;
  /** With `outdir`: the extension of `.js` output files, which the worker entry takes too. */
  outExtension?: { [ext: string]: string };
  /** The folder module ids are relative to (default: the current directory). */
  absWorkingDir?: string;
  /** Whether esbuild writes the files; when not, the worker entry is added to the result's `outputFiles`. */
  write?: boolean;
  /** Turned on for the app's build: the plugin reads which output holds which module. */
  metafile?: boolean;
  /** Turned off for the worker entry's build, which is one file. */
  splitting?: boolean;
  /** The build's plugins: by default the worker entry's build has the same, this one aside. */
  plugins?: EsbuildPlugin[];
}

/** A message in esbuild's form. */
export interface EsbuildMessage {
  /** What went wrong. */
  text: string;
  /** The underlying error, if any. */
  detail?: unknown;
}

/** The parts of esbuild's build result the plugin reads or extends. */
export interface EsbuildBuildResult {
  /** The build's errors; a failed worker entry build adds its own. */
  errors: EsbuildMessage[];
  /** The build's warnings. */
  warnings: EsbuildMessage[];
  /** The files made, when `write` is false. */
  outputFiles?:
    | {
        /** Where the file would be written. */
        path: string;
      }[]
    | undefined;
  /** Which output file holds which input modules. */
  metafile?:
    | {
        /** Each output file, by path. */
        outputs: {
          [file: string]: {
            /** The modules bundled into it. */
            inputs: { [input: string]: unknown };
          };
        };
      }
    | undefined;
}

/** The parts of esbuild's plugin API the plugin uses. */
export interface EsbuildPluginBuild {
  /** The build's options. */
  initialOptions: EsbuildBuildOptions;
  /** Runs `callback` when a build starts. */
  onStart(callback: () => { errors?: EsbuildMessage[] } | void): void;
  /** Runs `callback` when a build ends: the plugin builds the worker entry then. */
  onEnd(callback: (result: EsbuildBuildResult) => Promise<{ errors?: EsbuildMessage[] } | void>): void;
  /** Resolves imports of `smartasync` to the generated module of the importer. */
  onResolve(
    options: { filter: RegExp },
    callback: (args: {
      path: string;
      importer: string;
      namespace: string;
      resolveDir: string;
    }) => { path: string; namespace: string; pluginData: { resolveDir: string } } | undefined,
  ): void;
  /** Loads the generated modules. */
  onLoad(
    options: { filter: RegExp; namespace: string },
    callback: (args: { path: string; pluginData?: unknown }) => { contents: string; loader: 'js'; resolveDir: string },
  ): void;
  /** The esbuild that runs the build, which builds the worker entry too. */
  esbuild: {
    /** esbuild's `build()`. */
    build: (options: never) => Promise<unknown>;
  };
}

/** An esbuild plugin. */
export interface EsbuildPlugin {
  /** The plugin's name, in esbuild's messages. */
  name: string;
  /** Registers the plugin's callbacks on a build. */
  setup(build: EsbuildPluginBuild): void;
}

/** Options of {@link smartasyncEsbuild}. */
export interface SmartasyncEsbuildOptions extends SmartasyncPluginOptions {
  /**
   * The plugins of the worker entry's build, which bundles the modules that import smartasync
   * again. Default: this build's other plugins (they may resolve or compile those modules);
   * leave out plugins whose side effects must happen once (cleaning the output folder, say).
   */
  readonly workerPlugins?: readonly EsbuildPlugin[];
}

const NAMESPACE = 'smartasync-scope';
const NAME = 'smartasync';
const PACKAGE_FILTER = new RegExp(`^${PACKAGE}$`);

/** Entry points as absolute paths, whichever form the options give them in. */
function entryFiles(entryPoints: unknown, cwd: string): Set<string> {
  const list: unknown[] = Array.isArray(entryPoints)
    ? entryPoints
    : entryPoints && typeof entryPoints === 'object'
      ? Object.values(entryPoints)
      : [];
  const files = list.map((e) => (typeof e === 'object' && e !== null ? (e as { in?: unknown }).in : e));
  return new Set(files.filter((f): f is string => typeof f === 'string').map((f) => path.resolve(cwd, f)));
}

function message(text: string): EsbuildMessage {
  return { text: `smartasync: ${text}` };
}

type Role = { readonly kind: 'app' } | { readonly kind: 'worker'; readonly root: string };

function plugin(options: SmartasyncEsbuildOptions, role: Role): EsbuildPlugin {
  return {
    name: NAME,
    setup(build) {
      const initial = build.initialOptions;
      const cwd = initial.absWorkingDir ?? process.cwd();
      const root = role.kind === 'worker' ? role.root : path.resolve(cwd, options.root ?? cwd);
      const format = initial.format ?? 'cjs'; // esbuild's default when bundling for node
      const workerName = options.workerName ?? DEFAULT_WORKER_NAME;
      const ext = initial.outfile ? path.extname(initial.outfile) || '.js' : (initial.outExtension?.['.js'] ?? '.js');
      const workerFile = workerName + ext;
      // Module file → id, for the modules that import smartasync and are not entries.
      const modules = new Map<string, string>();
      let entries = new Set<string>();
      if (role.kind === 'app') initial.metafile = true; // tells which output files hold generated modules

      build.onStart(() => {
        modules.clear();
        entries = entryFiles(initial.entryPoints, cwd);
        const problems: string[] = [];
        if (initial.platform !== 'node')
          problems.push("the bundle runs on Node's worker threads: set platform: 'node'");
        if (!initial.bundle) problems.push('the plugin works on bundles: set bundle: true');
        if (format !== 'esm' && format !== 'cjs') problems.push(`format must be 'esm' or 'cjs', not '${format}'`);
        if (role.kind === 'app' && !initial.outfile && !initial.outdir)
          problems.push('the worker entry is written beside the bundle: set outfile or outdir');
        return problems.length ? { errors: problems.map(message) } : undefined;
      });

      build.onResolve({ filter: PACKAGE_FILTER }, (args) => {
        // The generated module's own import, and imports from outside files, resolve as usual.
        if (args.namespace !== 'file' || !args.importer) return undefined;
        return { path: args.importer, namespace: NAMESPACE, pluginData: { resolveDir: args.resolveDir } };
      });

      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const file = args.path;
        const id = moduleId(root, file);
        const entry = role.kind === 'app' && entries.has(file);
        if (!entry) modules.set(file, id);
        const workerUrl =
          role.kind === 'worker'
            ? undefined
            : format === 'esm'
              ? `new URL(${JSON.stringify(`./${workerFile}`)}, import.meta.url).href`
              : `__smartasyncUrl.pathToFileURL(__smartasyncPath.join(__dirname, ${JSON.stringify(workerFile)})).href`;
        const contents = scopeModuleSource({
          id,
          entry,
          url: JSON.stringify(`smartasync-bundle:${id}`),
          worker: workerUrl,
          imports:
            format === 'cjs' && role.kind === 'app'
              ? "import * as __smartasyncUrl from 'node:url';\nimport * as __smartasyncPath from 'node:path';"
              : undefined,
        });
        const resolveDir = (args.pluginData as { resolveDir?: string } | undefined)?.resolveDir ?? path.dirname(file);
        return { contents, loader: 'js', resolveDir };
      });

      if (role.kind === 'worker') return;

      build.onEnd(async (result) => {
        if (result.errors.length) return;
        // Every folder that holds an output file with a generated module needs the worker entry.
        const dirs = new Set<string>();
        for (const [out, meta] of Object.entries(result.metafile?.outputs ?? {})) {
          if (!out.endsWith('.map') && Object.keys(meta.inputs).some((input) => input.startsWith(`${NAMESPACE}:`)))
            dirs.add(path.dirname(path.resolve(cwd, out)));
        }
        if (dirs.size === 0) return; // nothing imports smartasync
        const [first, ...others] = [...dirs];
        const outfile = path.join(first!, workerFile);
        const copies = others.map((dir) => path.join(dir, workerFile));
        const workerPlugins = options.workerPlugins ?? (initial.plugins ?? []).filter((p) => p.name !== NAME);
        const workerOptions = {
          ...initial,
          entryPoints: undefined,
          stdin: {
            contents: workerEntrySource(new Map([...modules].map(([file, id]) => [id, file]))),
            resolveDir: root,
            sourcefile: `${workerName}-entry.js`,
            loader: 'js',
          },
          outfile,
          outdir: undefined,
          outExtension: undefined,
          splitting: false,
          metafile: false,
          plugins: [...workerPlugins, plugin(options, { kind: 'worker', root })],
        };
        let built: EsbuildBuildResult;
        try {
          built = (await (build.esbuild.build as (o: typeof workerOptions) => Promise<unknown>)(
            workerOptions,
          )) as EsbuildBuildResult;
        } catch (err) {
          const failure = err as { errors?: EsbuildMessage[]; message?: string };
          return {
            errors: [
              message(
                `building the worker entry ${outfile} failed: ${failure.errors?.map((e) => e.text).join('; ') ?? failure.message}`,
              ),
            ],
          };
        }
        result.warnings.push(...built.warnings);
        if (initial.write === false) {
          result.outputFiles?.push(...(built.outputFiles ?? []));
        } else {
          for (const copy of copies) {
            fs.copyFileSync(outfile, copy);
            if (fs.existsSync(`${outfile}.map`)) fs.copyFileSync(`${outfile}.map`, `${copy}.map`);
          }
        }
        return undefined;
      });
    },
  };
}

/**
 * The esbuild plugin that makes bundled apps offload: it keys every registration by its
 * module's path and rank instead of its position in the bundle, and writes the worker entry
 * (`smartasync-worker.js`, or `.mjs`/`.cjs` like the bundle) beside the bundle. Deploy it
 * with the bundle. Needs `bundle: true`, `platform: 'node'`, format `esm` or `cjs`.
 *
 * @example
 * ```ts
 * import { build } from 'esbuild';
 * import { smartasyncEsbuild } from 'smartasync/bundler';
 *
 * await build({
 *   entryPoints: ['src/server.ts'],
 *   bundle: true,
 *   platform: 'node',
 *   format: 'esm',
 *   outfile: 'dist/server.mjs',
 *   plugins: [smartasyncEsbuild()],
 * });
 * ```
 */
export function smartasyncEsbuild(options: SmartasyncEsbuildOptions = {}): EsbuildPlugin {
  return plugin(options, { kind: 'app' });
}
