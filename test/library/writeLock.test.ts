import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { LibraryWorkerPool } from '../../src/workers/workerPool.js';
import { libraryScriptImports, RUN_TS } from '../support/processes.js';
import { countingEmbedder, newPaper, temporaryDirectory } from './support.js';

/**
 * The library's write lock between writers: two worker threads of one process (the bot's library workers), two
 * processes (the bot and a CLI ingest), and waiters taking over a lock whose owner is gone.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seeds = await loadPapersFromSource('seeds');

let dataDir: { path: string; remove(): Promise<void> };

beforeEach(async () => {
  dataDir = await temporaryDirectory('papercord-write-lock-');
});
afterEach(async () => {
  await dataDir.remove();
});

/** Papers as the database holds them: every row, and the distinct ids among them. */
function storedRows(): { rows: number; ids: number } {
  const db = new Database(path.join(dataDir.path, 'library', 'library.db'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM papers').get() as {
      rows: number;
      ids: number;
    };
  } finally {
    db.close();
  }
}

/** `papers` added to the test's library by a separate node process; resolves its exit code and stderr. */
async function addInAnotherProcess(papers: Paper[], name: string): Promise<{ code: number | null; stderr: string }> {
  const input = path.join(dataDir.path, `${name}.json`);
  await writeFile(input, JSON.stringify(papers));
  const script = [
    `import { readFileSync } from 'node:fs';`,
    ...libraryScriptImports(REPO),
    `const library = await PaperLibrary.open({ dataDir: ${JSON.stringify(dataDir.path)}, embedder: countingEmbedder(), logger: silentLogger() });`,
    `try { await library.add(JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'))); }`,
    `catch (error) { process.stderr.write(String(error.message)); process.exitCode = 1; }`,
    `finally { await library.close(); }`,
  ].join('\n');
  const child = spawn(process.execPath, [...RUN_TS, '--input-type=module', '-e', script], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  return { code, stderr };
}

describe('the write lock of the local library', () => {
  it('given two worker threads adding the same papers at once (WORKER_THREADS=2), it should store each paper exactly once, with no error', async () => {
    const config = loadConfig({
      DATA_DIR: dataDir.path,
      EMBEDDINGS: 'hashing',
      LOG_LEVEL: 'silent',
      FULL_TEXT: 'off',
      WORKER_THREADS: '2',
    });
    // One task per thread: the two adds surely run on different threads.
    const pool = await LibraryWorkerPool.open({
      config,
      logger: silentLogger(),
      threads: config.WORKER_THREADS,
      tasksPerThread: 1,
    });
    try {
      const [first, second] = await Promise.all([pool.add(seeds), pool.add([...seeds].reverse())]);

      expect(first.added.length + second.added.length).toBe(54);
      expect(first.existing + second.existing).toBe(54);
    } finally {
      await pool.close();
    }
    expect(storedRows()).toEqual({ rows: 54, ids: 54 });
  });

  it('given two processes adding the same papers at once, it should store each paper exactly once, with no error', async () => {
    const outcomes = await Promise.all([
      addInAnotherProcess(seeds, 'first'),
      addInAnotherProcess([...seeds].reverse(), 'second'),
    ]);

    expect(outcomes).toEqual([
      { code: 0, stderr: '' },
      { code: 0, stderr: '' },
    ]);
    expect(storedRows()).toEqual({ rows: 54, ids: 54 });
  });

  it('given a lock left by a process that is gone and several writers waiting for it, they should take it over one at a time and keep every paper once', async () => {
    const first = await PaperLibrary.open({
      dataDir: dataDir.path,
      embedder: countingEmbedder(),
      logger: silentLogger(),
    });
    await first.close();
    // The pid of a process that has exited, on this machine.
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => gone.on('exit', resolve));
    await writeFile(
      path.join(dataDir.path, 'library', 'write.lock'),
      JSON.stringify({ pid: gone.pid, hostname: os.hostname(), since: '2026-12-01T00:00:00.000Z' }),
    );
    const writers = await Promise.all(
      Array.from({ length: 4 }, () =>
        PaperLibrary.open({ dataDir: dataDir.path, embedder: countingEmbedder(), logger: silentLogger() }),
      ),
    );
    try {
      // Each writer adds the seeds and a paper of its own, all at once.
      const results = await Promise.all(
        writers.map((writer, index) => writer.add([...seeds, newPaper(`Writer ${index} Routing Paper`)])),
      );

      expect(results.reduce((sum, result) => sum + result.added.length, 0)).toBe(58);
    } finally {
      for (const writer of writers) await writer.close();
    }
    expect(storedRows()).toEqual({ rows: 58, ids: 58 });
  });
});
