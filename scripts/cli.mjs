#!/usr/bin/env node
// `npm run cli -- <command>`: runs the CLI from compiled JavaScript in `dist/`, first compiling (esbuild, one file at
// a time, as tsx would) every source under `src/` that changed since it was last compiled. Starting through tsx's
// loader resolves and transpiles hundreds of modules on every run, about 1.5 s on this project; compiled code starts
// without it. A run compares each source's content with what was compiled, so a developer never runs stale code.
//
// Plain JavaScript on purpose: it must run before anything is compiled. `npm run build` (tsc, which also type-checks)
// writes the same `dist/` files; a file tsc rewrote is compiled again on the next run, so the two never disagree.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Folders compiled, relative to the repository root; outputs go to `dist/<same path>.js`. */
const SOURCE_ROOTS = ['src'];
const OUT_DIR = 'dist';
const MANIFEST = '.cli-build.json';
/** Bumped when what this script writes changes, so older outputs are compiled again. */
const BUILD_FORMAT = 1;

/**
 * Compiles the sources under `root` whose content, or whose compiled file, changed since the last call (all of
 * them the first time), removes the outputs of deleted sources, and returns the compiled files' paths.
 */
export async function compileChangedSources(root = ROOT) {
  const outDir = path.join(root, OUT_DIR);
  const manifestFile = path.join(outDir, MANIFEST);
  const settings = buildSettings(root);
  const previous = readManifest(manifestFile);
  const recorded = previous?.settings === settings ? previous.files : {};

  const sources = SOURCE_ROOTS.flatMap((folder) => typeScriptFiles(root, folder));
  const files = {};
  const stale = [];
  for (const source of sources) {
    const digest = createHash('sha1')
      .update(readFileSync(path.join(root, source)))
      .digest('hex');
    const entry = recorded[source];
    const output = outputStamp(path.join(outDir, outputPath(source)));
    if (entry && entry.digest === digest && output && output === entry.output) files[source] = entry;
    else stale.push({ source, digest });
  }
  const removed = Object.keys(recorded).filter((source) => !sources.includes(source));
  if (stale.length === 0 && removed.length === 0) return [];

  for (const source of removed) {
    for (const suffix of ['', '.map']) rmSync(path.join(outDir, outputPath(source) + suffix), { force: true });
  }
  if (stale.length > 0) {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: stale.map(({ source }) => path.join(root, source)),
      outdir: outDir,
      outbase: root,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      write: false,
      logLevel: 'error',
      tsconfigRaw: readFileSync(path.join(root, 'tsconfig.json'), 'utf8'),
    });
    // Temp file and rename: a CLI started meanwhile reads the old file or the new one, never half of one.
    for (const file of result.outputFiles) {
      mkdirSync(path.dirname(file.path), { recursive: true });
      const temporary = `${file.path}.${process.pid}.tmp`;
      writeFileSync(temporary, file.contents);
      renameSync(temporary, file.path);
    }
    for (const { source, digest } of stale)
      files[source] = { digest, output: outputStamp(path.join(outDir, outputPath(source))) };
  }
  const temporary = `${manifestFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ settings, files }));
  renameSync(temporary, manifestFile);
  return stale.map(({ source }) => source);
}

/** What else decides the output: this script's format, the esbuild version and tsconfig.json. */
function buildSettings(root) {
  const esbuildVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/esbuild/package.json'), 'utf8')).version;
  const tsconfig = createHash('sha1')
    .update(readFileSync(path.join(root, 'tsconfig.json')))
    .digest('hex');
  return `${BUILD_FORMAT}:esbuild@${esbuildVersion}:tsconfig@${tsconfig}`;
}

function readManifest(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Size and modification time of a compiled file: another writer (tsc, an editor) changes them. */
function outputStamp(file) {
  try {
    const info = statSync(file);
    return `${info.size}:${info.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function outputPath(source) {
  return source.replace(/\.ts$/, '.js');
}

function typeScriptFiles(root, folder) {
  return readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await compileChangedSources();
  } catch (error) {
    // Nothing stale runs. esbuild has printed its errors with file:line; anything else (a folder we may not write) is said here.
    const errors = Array.isArray(error?.errors) ? error.errors.length : 0;
    const reason =
      errors > 0
        ? `${errors} error${errors === 1 ? '' : 's'} above`
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(
      `papercord: could not compile ${SOURCE_ROOTS.map((folder) => `${folder}/`).join(', ')}: ${reason}\n`,
    );
    process.exit(1);
  }
  const { runFromCommandLine } = await import(pathToFileURL(path.join(ROOT, OUT_DIR, 'src/cli/main.js')).href);
  await runFromCommandLine(process.argv.slice(2));
}
