/**
 * Running the real bot and CLI processes in end-to-end tests: a cleanup list emptied after each test,
 * free loopback ports, a seeded DATA_DIR, child processes that cannot outlive their test, and polling until they answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { createServices } from '../../src/services.js';

/**
 * How `npm start`, `npm run cli` and `npm run playground` run TypeScript: node itself with tsx's loader (an absolute
 * URL, so a child started in another folder finds it). The tsx command would put a relay in between that SIGKILLs the
 * child and exits 128 + signal when the child is slow to confirm a signal (30 ms, missed on a loaded machine), so a
 * signal test through it could neither pass reliably nor fail on the code under test.
 */
export const RUN_TS: readonly string[] = [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
];

/** The first lines of a crash test's child script: the real library, the counting test embedder, a silent logger. */
export function libraryScriptImports(repo: string): string[] {
  return [
    `import { PaperLibrary } from ${JSON.stringify(path.join(repo, 'src/library/sqlite/paperLibrary.ts'))};`,
    `import { countingEmbedder } from ${JSON.stringify(path.join(repo, 'test/library/support.ts'))};`,
    `import { silentLogger } from ${JSON.stringify(path.join(repo, 'src/logger.ts'))};`,
  ];
}

/**
 * Runs a TypeScript script in a child process (as the crash tests write them: they kill themselves at a chosen step)
 * and resolves the signal that ended it, or null when it exited on its own.
 */
export function signalThatEnds(script: string, cwd: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...RUN_TS, script], { cwd, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

export type Cleanup = () => Promise<void>;

/** A list a test pushes its cleanups onto; after each test they run, the last pushed first. Call at a test file's top level. */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return cleanups;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A temp DATA_DIR holding the seed papers (hashing embedder; `env` may pick another store), removed by `cleanups`. */
export async function seededDataDir(
  prefix: string,
  cleanups: Cleanup[],
  env: Record<string, string> = {},
): Promise<{ dataDir: string; papers: number }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const services = await createServices(
    loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent', ...env }),
    silentLogger(),
  );
  await services.library.add(await loadPapersFromSource('seeds'));
  const papers = await services.library.count();
  await services.close();
  return { dataDir, papers };
}

export interface StartedProcess {
  child: ChildProcess;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far. */
  stderr: () => string;
}

export interface StartProcessOptions {
  /** Variables on top of PATH and HOME; nothing else of the test's environment is passed on. */
  env: Record<string, string>;
  cleanups: Cleanup[];
  /**
   * How the cleanup stops the process if the test did not: SIGKILL for a single process; SIGTERM where it would leave
   * children behind (npm, the shard manager).
   */
  stopSignal: 'SIGKILL' | 'SIGTERM';
  /** The working directory; the repository root by default. */
  cwd?: string;
}

/** Starts `command` from the repository root (or `cwd`) with only the given environment; the cleanup stops it and waits for its exit. */
export function startProcess(command: string, args: string[], options: StartProcessOptions): StartedProcess {
  const child = spawn(command, args, {
    // Full text off unless a test turns it on: no test may reach arxiv.org.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', FULL_TEXT: 'off', ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  options.cleanups.push(async () => {
    if (child.exitCode === null) child.kill(options.stopSignal);
    await exited;
  });
  return { child, exited, stderr: () => stderr };
}

/**
 * Polls `url` until `accept` says yes to its status (undefined: nothing answers) and returns that response, if any;
 * bounded, so a broken server fails the test instead of hanging it.
 */
export async function pollUntil(
  url: string,
  accept: (status: number | undefined) => boolean,
  timeoutMs = 30_000,
): Promise<Response | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    if (accept(response?.status)) return response;
    await response?.text();
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not reach the expected status within ${timeoutMs} ms (last: ${response?.status ?? 'no answer'})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The processes whose parent is `parentPid` (Linux: the parent pid in `/proc/<pid>/stat`), with their environment. */
export async function childProcessesOf(
  parentPid: number,
): Promise<Array<{ pid: number; env: Record<string, string> }>> {
  const children: Array<{ pid: number; env: Record<string, string> }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command name, which sits in parentheses and may hold spaces: state, then parent pid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parentPid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const env = Object.fromEntries(
      environ
        .split('\0')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    );
    children.push({ pid: Number(entry), env });
  }
  return children;
}
