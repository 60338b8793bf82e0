import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import stock from 'hnswlib-node';
import { UserError } from '../../errors.js';

/**
 * Which build of hnswlib-node's addon runs the HNSW graph. hnswlib chooses its distance kernels when it is compiled
 * (npm's stock build: SSE), so `scripts/build-hnswlib-simd.mjs` builds the same source twice more at install, for
 * AVX2+FMA and for AVX-512, and this module loads the best one this CPU runs. The builds share one file format: a
 * checkpoint written by one is read by any other, so threads and processes may differ.
 */

export type HnswlibBinding = typeof stock;
export type HnswlibBuildName = 'avx512' | 'avx2' | 'stock';
/** HNSW_SIMD: `auto` takes the fastest build this CPU supports; `off` keeps the stock build. */
export type HnswSimdSetting = 'auto' | 'avx512' | 'avx2' | 'off';

export interface HnswlibBuild {
  name: HnswlibBuildName;
  binding: HnswlibBinding;
  /** Why a faster build is not in use, when one could have been (said once, by whoever opens a library). */
  note?: string;
}

/** CPU features each build was compiled for (the flags of scripts/build-hnswlib-simd.mjs), as /proc/cpuinfo names them. */
export const BUILD_CPU_FLAGS: Readonly<Record<Exclude<HnswlibBuildName, 'stock'>, readonly string[]>> = Object.freeze({
  avx512: ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx2', 'fma'],
  avx2: ['avx2', 'fma'],
});

const FASTEST_FIRST = ['avx512', 'avx2'] as const;

/** Where the install put the extra builds (next to the package they were built from). */
function buildsDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(path.dirname(require.resolve('hnswlib-node/package.json'))), '.papercord', 'hnswlib');
}

/** The CPU's feature flags (Linux: /proc/cpuinfo; the kernel lists only what it enabled); empty elsewhere. */
export function cpuFlags(cpuinfo = readCpuinfo()): ReadonlySet<string> {
  const line = cpuinfo.split('\n').find((text) => /^flags\s*:/.test(text));
  return new Set(
    line
      ? line
          .replace(/^flags\s*:/, '')
          .trim()
          .split(/\s+/)
      : [],
  );
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export interface BuildChoiceInput {
  setting: HnswSimdSetting;
  flags: ReadonlySet<string>;
  /** Builds present and made from the installed hnswlib-node. */
  available: ReadonlySet<Exclude<HnswlibBuildName, 'stock'>>;
}

/**
 * The build to load: the fastest available one the CPU supports (`auto`), the one named, or stock (`off`). Naming a
 * build this CPU cannot run, or one not built, is a UserError: loading it anyway would crash on the first vector.
 */
export function chooseBuild({ setting, flags, available }: BuildChoiceInput): {
  name: HnswlibBuildName;
  note?: string;
} {
  const runs = (name: Exclude<HnswlibBuildName, 'stock'>) => BUILD_CPU_FLAGS[name].every((flag) => flags.has(flag));
  if (setting === 'off') return { name: 'stock' };
  if (setting !== 'auto') {
    if (!runs(setting)) {
      const missing = BUILD_CPU_FLAGS[setting].filter((flag) => !flags.has(flag));
      throw new UserError(
        `HNSW_SIMD: this CPU cannot run the ${setting} build (it lacks ${missing.join(', ')}); use auto or off`,
      );
    }
    if (!available.has(setting)) {
      throw new UserError(
        `HNSW_SIMD: the ${setting} build of hnswlib-node was not made at install (run \`node scripts/build-hnswlib-simd.mjs\`); use auto or off`,
      );
    }
    return { name: setting };
  }
  for (const name of FASTEST_FIRST) {
    if (!runs(name)) continue;
    if (available.has(name)) return { name };
    return {
      name: 'stock',
      note: `the ${name} build of hnswlib-node was not made at install, so the slower stock build runs (run \`node scripts/build-hnswlib-simd.mjs\`)`,
    };
  }
  return { name: 'stock' };
}

/** Builds on disk that were made from the hnswlib-node installed now. */
function availableBuilds(directory: string): Set<Exclude<HnswlibBuildName, 'stock'>> {
  const manifest = path.join(directory, 'builds.json');
  if (!existsSync(manifest)) return new Set();
  try {
    const { hnswlibNode, builds } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      hnswlibNode: string;
      builds: string[];
    };
    if (hnswlibNode !== stockVersion()) return new Set();
    return new Set(
      FASTEST_FIRST.filter((name) => builds.includes(name) && existsSync(path.join(directory, name, 'addon.node'))),
    );
  } catch {
    return new Set();
  }
}

function stockVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('hnswlib-node/package.json') as { version: string }).version;
}

/** Every build this CPU runs and the install made, fastest first, stock last (for `npm run bench -- hnswlib`). */
export function runnableHnswlibBuilds(): HnswlibBuildName[] {
  const flags = cpuFlags();
  const available = availableBuilds(buildsDirectory());
  return [
    ...FASTEST_FIRST.filter((name) => available.has(name) && BUILD_CPU_FLAGS[name].every((flag) => flags.has(flag))),
    'stock',
  ];
}

/** The binding of one build, without making it this thread's choice. */
export function loadHnswlibBinding(name: HnswlibBuildName): HnswlibBinding {
  if (name === 'stock') return stock;
  return createRequire(import.meta.url)(path.join(buildsDirectory(), name, 'addon.node')) as HnswlibBinding;
}

let chosen: HnswlibBuild | undefined;

/**
 * Loads the build for `setting` (once per thread: later calls return the first choice). A build that fails to load
 * falls back to stock with a note.
 */
export function useHnswlibBuild(setting: HnswSimdSetting = 'auto'): HnswlibBuild {
  if (chosen) return chosen;
  const directory = buildsDirectory();
  const choice = chooseBuild({ setting, flags: cpuFlags(), available: availableBuilds(directory) });
  if (choice.name === 'stock') {
    chosen = { name: 'stock', binding: stock, ...(choice.note ? { note: choice.note } : {}) };
    return chosen;
  }
  try {
    const binding = loadHnswlibBinding(choice.name);
    chosen = { name: choice.name, binding };
  } catch (error) {
    if (setting !== 'auto')
      throw new UserError(
        `HNSW_SIMD: the ${choice.name} build of hnswlib-node does not load (${error instanceof Error ? error.message : String(error)})`,
      );
    chosen = {
      name: 'stock',
      binding: stock,
      note: `the ${choice.name} build of hnswlib-node does not load, so the stock build runs (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  return chosen;
}

/** The build this thread uses: the one chosen by `useHnswlibBuild`, or the automatic choice. */
export function hnswlibBuild(): HnswlibBuild {
  return chosen ?? useHnswlibBuild('auto');
}

/** The HNSW_SIMD setting that loads `build` again (in another thread). */
export function simdSettingOf(build: HnswlibBuildName): HnswSimdSetting {
  return build === 'stock' ? 'off' : build;
}
