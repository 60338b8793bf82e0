import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { runPapercord } from '../support/cli.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROUTER_QUERY =
  'recursive transformer where a router picks how many times each token goes through the shared layers';

let root: string;

/** Runs the CLI in-process with captured output; each test picks its own data directory. */
function papercord(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return runPapercord(args, { DATA_DIR: dataDir, ...env });
}

/** Runs the real entry point as a user would (`npm run cli` runs the same file with tsx). */
function spawnPapercord(
  dataDir: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const seeded = () => path.join(root, 'seeded');

/**
 * A copy of the seeded library with its HNSW graph checkpointed (an ingest of 54 papers leaves them to be replayed),
 * as a library that has grown past the checkpoint count is.
 */
async function checkpointedCopy(name: string): Promise<string> {
  const dataDir = path.join(root, name);
  await cp(seeded(), dataDir, { recursive: true });
  const logger = silentLogger();
  const embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
  const library = await PaperLibrary.open({ dataDir, embedder, logger });
  await library.checkpoint();
  await library.close();
  return dataDir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'papercord-cli-'));
  const first = await papercord(seeded(), ['ingest']);
  expect(first).toMatchObject({ code: 0, stdout: '54 new, 0 already in the library (54 papers in total)\n' });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('papercord ingest', () => {
  it('given the seeds ingested already, it should report 0 new and 54 already in the library', async () => {
    const second = await papercord(seeded(), ['ingest', '--source', 'seeds']);

    expect(second).toEqual({ code: 0, stdout: '0 new, 54 already in the library (54 papers in total)\n', stderr: '' });
  });

  it('given a malformed page, it should name the file and line, exit 1 and add nothing', async () => {
    const dataDir = path.join(root, 'malformed');
    const page = path.join(root, 'bad-page.txt');
    await writeFile(page, 'Daily Papers\n\nA Title\n\nAnother Title\n');

    const result = await papercord(dataDir, ['ingest', '--source', page]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `papercord: ${page}:3: the title "A Title" has no abstract: line 5 holds a short line of 2 words ("Another Title"); nothing from this file was ingested\n`,
    );
    expect(JSON.parse((await papercord(dataDir, ['stats', '--json'])).stdout)).toMatchObject({ papers: 0, vectors: 0 });
  });
});

describe('papercord search', () => {
  it('given the router question, it should list Mixture-of-Recursions first as the documented JSON and nothing else', async () => {
    const { code, stdout, stderr } = await papercord(seeded(), ['search', ROUTER_QUERY, '--json']);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    const rows = JSON.parse(stdout) as Array<{ id: string; title: string; score: number; confidence: string }>;
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0])).toEqual(['id', 'title', 'score', 'confidence']);
    expect(rows[0].title).toMatch(/^Mixture-of-Recursions: /);
    expect(rows.map((row) => row.confidence)).toEqual(Array(5).fill('high'));
    expect(rows.map((row) => row.score)).toEqual([...rows.map((row) => row.score)].sort((a, b) => b - a));
  });

  it('given -k 2 without --json, it should print two numbered lines with score, title and id', async () => {
    const { code, stdout } = await papercord(seeded(), ['search', '-k', '2', 'byte-level token merging']);

    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ 1\. [01]\.\d{3} {2}MrT5: Dynamic Token Merging .* \[t:[0-9a-f]{16}\]$/);
  });

  it('given a question worded unlike any abstract, it should say nothing clearly matches before the closest papers', async () => {
    const query =
      'is there a paper where the search engine is just one big model that memorized the whole doc collection in its weights?';
    const text = await papercord(seeded(), ['search', '-k', '2', query]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^No paper in the library mentions .+\. The closest papers.*:$/);
    expect(lines[1]).toMatch(/^ 1\. [01]\.\d{3} {2}DynamicRetriever: /);
    expect(lines).toHaveLength(3);
    const json = await papercord(seeded(), ['search', '-k', '2', query, '--json']);
    const rows = JSON.parse(json.stdout) as Array<{ title: string; confidence: string }>;
    expect(rows.map((row) => row.confidence)).toEqual(['low', 'low']);
  });

  it('given a query on a topic the library does not cover, it should say nothing is relevant rather than list the least-bad papers', async () => {
    const text = await papercord(seeded(), ['search', 'best recipe for sourdough bread']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('Nothing in the library is relevant to "best recipe for sourdough bread".\n');
    const json = await papercord(seeded(), ['search', 'best recipe for sourdough bread', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('given an empty library, it should say so and how to ingest, exit 1', async () => {
    const result = await papercord(path.join(root, 'empty'), ['search', 'anything']);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^papercord: the library is empty; add papers with `papercord ingest`/);
  });

  it.each([
    [['search'], /search needs a query/],
    [['search', 'x', '-k', '0'], /-k expects a whole number from 1 to 100 \(got "0"\)/],
    [['search', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['search', 'x', '-k', '-1'], /^papercord: -k expects a whole number from 1 to 100 \(got "-1"\)\n\n/],
    [['search', 'x', '-k'], /^papercord: -k needs a value\n\n/],
    [['ingest', '--source'], /^papercord: --source needs a value\n\n/],
  ])('given bad arguments %j, it should print the problem and usage and exit 2', async (args, problem) => {
    const result = await papercord(seeded(), args);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(problem);
    expect(result.stderr).toMatch(/usage: papercord/);
  });
});

describe('papercord stats', () => {
  it('given the seeded library, it should print papers, vectors, embedder, dimension and bytes on disk', async () => {
    const json = JSON.parse((await papercord(seeded(), ['stats', '--json'])).stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['papers', 'vectors', 'embedder', 'dimension', 'bytesOnDisk']);
    expect(json).toMatchObject({
      papers: 54,
      vectors: 54,
      embedder: expect.stringMatching(/^hashing:/),
      dimension: expect.any(Number),
    });
    expect(json.bytesOnDisk).toBeGreaterThan(100_000);

    const text = (await papercord(seeded(), ['stats'])).stdout;
    expect(text).toMatch(/^papers {8}54$/m);
    expect(text).toMatch(/^bytes on disk \d+ \([\d.]+ KiB\)$/m);
  });

  it('given a library whose HNSW checkpoint is missing, it should answer from the database and leave the repair to a search', async () => {
    const dataDir = await checkpointedCopy('no-checkpoint');
    const library = path.join(dataDir, 'library');
    const checkpoints = async () => (await readdir(library)).filter((name) => name.endsWith('.hnsw'));
    for (const name of await checkpoints()) await rm(path.join(library, name));

    const result = await papercord(dataDir, ['stats', '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      papers: 54,
      vectors: 54,
      embedder: expect.stringMatching(/^hashing:/),
    });
    // Stats never read the graph, so it did not notice it missing; a search needs it and rebuilds it.
    expect(await checkpoints()).toEqual([]);
    expect((await papercord(dataDir, ['search', 'Mixture-of-Recursions', '--json'])).code).toBe(0);
    expect(await checkpoints()).toHaveLength(1);
  });

  it('given another process writing the library, stats and search should answer without waiting for it', async () => {
    const dataDir = await checkpointedCopy('being-written');
    const checkpoint = (await readdir(path.join(dataDir, 'library'))).find((name) => name.endsWith('.hnsw'))!;
    const checkpointBefore = await stat(path.join(dataDir, 'library', checkpoint));
    // The write lock as a live writer of this machine holds it: a command that took it would wait 30 s, then fail.
    const writer = spawn('sleep', ['120'], { stdio: 'ignore' });
    await writeFile(
      path.join(dataDir, 'library', 'write.lock'),
      JSON.stringify({ pid: writer.pid, hostname: hostname(), since: new Date().toISOString() }),
    );

    const stats = await papercord(dataDir, ['stats', '--json']);
    const search = await papercord(dataDir, ['search', ROUTER_QUERY, '-k', '1', '--json']);
    writer.kill();

    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ papers: 54 });
    expect(search.code, search.stderr).toBe(0);
    expect(JSON.parse(search.stdout)).toEqual([
      expect.objectContaining({ title: expect.stringMatching(/^Mixture-of-Recursions/) }),
    ]);
    // Nothing was written: the same checkpoint, untouched.
    expect((await readdir(path.join(dataDir, 'library'))).filter((name) => name.endsWith('.hnsw'))).toEqual([
      checkpoint,
    ]);
    expect((await stat(path.join(dataDir, 'library', checkpoint))).mtimeMs).toBe(checkpointBefore.mtimeMs);
  });

  it('given an empty library, it should still answer and say how to ingest', async () => {
    const result = await papercord(path.join(root, 'empty-stats'), ['stats']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^papers {8}0$/m);
    expect(result.stderr).toMatch(/the library is empty; add papers with `papercord ingest`/);
  });
});

describe('papercord (entry point)', () => {
  it('given help, it should list the commands', async () => {
    const result = await papercord(seeded(), ['help']);

    expect(result.code).toBe(0);
    for (const name of ['ingest', 'search', 'stats']) expect(result.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('given an invalid setting, it should print one line naming it and exit 1', async () => {
    expect(await papercord(seeded(), ['stats'], { LLM_TIMEOUT_MS: 'soon' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'papercord: LLM_TIMEOUT_MS: expected a whole number (got "soon")\n',
    });
  });

  it('given a DATA_DIR that is a file, it should say so in one line and exit 1, not report an unexpected error', async () => {
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');

    const result = await papercord(file, ['stats']);

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `papercord: DATA_DIR ${file} cannot hold the library (a file is in the way, not a folder); set DATA_DIR to a folder papercord can write\n`,
    });
  });

  it('given the real process, it should print JSON on stdout and exit 0, and exit 2 on bad arguments', async () => {
    const stats = await spawnPapercord(seeded(), ['stats', '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ papers: 54 });

    const bad = await spawnPapercord(seeded(), ['search']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^papercord: search needs a query/);
  });
});
