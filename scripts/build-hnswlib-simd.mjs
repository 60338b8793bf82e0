#!/usr/bin/env node
// Runs after `npm install`/`npm ci` (package.json postinstall): builds hnswlib-node's addon twice more, for CPUs with
// AVX2+FMA and with AVX-512, into node_modules/.papercord/hnswlib/<build>/addon.node. hnswlib picks its distance
// kernels at compile time (SSE in npm's stock build); the AVX-512 build inserts about 1.8 times faster and searches
// about 1.5 times faster on the same graph (`npm run bench -- hnswlib`). src/library/sqlite/hnswlib.ts loads the best build
// the CPU supports at run time, so an image built here still runs on an older CPU. Any failure leaves the stock
// build in use: this script prints one line and exits 0.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

/** Compiler flags per build; the names are what src/library/sqlite/hnswlib.ts looks for. */
const SIMD_BUILDS = {
  avx2: ['-mavx2', '-mfma'],
  avx512: ['-mavx512f', '-mavx512dq', '-mavx512bw', '-mavx512vl', '-mavx2', '-mfma'],
};

function say(message) {
  process.stderr.write(`papercord: ${message}\n`);
}

function nodeGyp() {
  // npm runs lifecycle scripts with npm_execpath set to its own CLI; node-gyp ships inside npm.
  const candidates = [];
  if (process.env.npm_execpath)
    candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'));
  // Run by hand: the npm that came with this node.
  candidates.push(
    path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  );
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // Not a dependency of the project; npm's own copy is the usual one.
  }
  return candidates.find((candidate) => {
    try {
      require.resolve(candidate);
      return true;
    } catch {
      return false;
    }
  });
}

async function buildOne(name, flags, source, gyp, target) {
  const work = await mkdtemp(path.join(os.tmpdir(), `papercord-hnswlib-${name}-`));
  try {
    await cp(source, work, {
      recursive: true,
      filter: (file) => path.relative(source, file).split(path.sep)[0] !== 'build',
    });
    // node-addon-api is hnswlib-node's sibling in node_modules; the copy must find it.
    await cp(
      path.join(path.dirname(require.resolve('node-addon-api/package.json'))),
      path.join(work, 'node_modules', 'node-addon-api'),
      { recursive: true },
    );
    const cxxflags = [process.env.CXXFLAGS ?? '', ...flags].join(' ').trim();
    // npm passes its nodedir setting on; by hand, this node's own headers serve (nothing is downloaded).
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    const nodedir = process.env.npm_config_nodedir
      ? []
      : existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))
        ? [`--nodedir=${prefix}`]
        : [];
    await run(process.execPath, [gyp, 'rebuild', '--release', ...nodedir], {
      cwd: work,
      env: { ...process.env, CXXFLAGS: cxxflags },
      maxBuffer: 16 * 1024 * 1024,
    });
    await mkdir(target, { recursive: true });
    await cp(path.join(work, 'build', 'Release', 'addon.node'), path.join(target, 'addon.node'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main() {
  if (process.env.PAPERCORD_SKIP_SIMD_BUILD === '1') return;
  if (process.arch !== 'x64' || process.platform !== 'linux') return;
  let source;
  try {
    source = path.dirname(require.resolve('hnswlib-node/package.json'));
  } catch {
    return;
  }
  const gyp = nodeGyp();
  if (!gyp) {
    say('hnswlib-node stays on its stock (SSE) build: node-gyp was not found to build the AVX2/AVX-512 ones');
    return;
  }
  const { version } = JSON.parse(await readFile(path.join(source, 'package.json'), 'utf8'));
  const output = path.join(root, 'node_modules', '.papercord', 'hnswlib');
  await rm(output, { recursive: true, force: true });
  const started = Date.now();
  const results = await Promise.allSettled(
    Object.entries(SIMD_BUILDS).map(([name, flags]) =>
      buildOne(name, flags, source, gyp, path.join(output, name)).then(() => name),
    ),
  );
  const built = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`${Object.keys(SIMD_BUILDS)[index]} (${firstLine(result.reason)})`] : [],
  );
  await mkdir(output, { recursive: true });
  // Records which hnswlib-node these were built from: after an upgrade without a reinstall they are not loaded.
  await writeFile(path.join(output, 'builds.json'), `${JSON.stringify({ hnswlibNode: version, builds: built })}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (failed.length > 0)
    say(
      `hnswlib-node: built ${built.join(', ') || 'nothing'} in ${seconds} s; could not build ${failed.join(', ')}; the stock build serves CPUs without them`,
    );
  else say(`hnswlib-node: built the ${built.join(' and ')} builds in ${seconds} s`);
}

function firstLine(error) {
  const text = String(error?.stderr || error?.message || error);
  const lines = text.split('\n');
  return (lines.find((line) => /Error:|error:/.test(line)) ?? lines.find((line) => /ERR!/.test(line)) ?? lines[0] ?? '')
    .trim()
    .slice(0, 200);
}

main().catch((error) => {
  say(`hnswlib-node stays on its stock build: ${firstLine(error)}`);
});
