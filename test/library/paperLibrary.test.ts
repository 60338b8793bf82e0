import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestInBatches } from '../../src/library/bulkIngest.js';
import { silentLogger } from '../../src/logger.js';
import { PaperLibrary, type PaperLibraryOptions, type SaveStep } from '../../src/library/sqlite/paperLibrary.js';
import { PaperVectorStore } from '../../src/library/sqlite/paperVectorStore.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { countingEmbedder, newPaper, recordingLogger, temporaryDirectory } from './support.js';
import { libraryScriptImports, signalThatEnds } from '../support/processes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROUTER_QUERY =
  'recursive transformer where a router picks how many times each token goes through the shared layers';

const seeds = await loadPapersFromSource('seeds');

let dataDir: { path: string; remove(): Promise<void> };
const opened: PaperLibrary[] = [];

async function openLibrary(options: Partial<PaperLibraryOptions> = {}): Promise<PaperLibrary> {
  const library = await PaperLibrary.open({
    dataDir: dataDir.path,
    embedder: countingEmbedder(),
    logger: silentLogger(),
    ...options,
  });
  opened.push(library);
  return library;
}

async function checkpointFile(): Promise<string> {
  const names = (await readdir(path.join(dataDir.path, 'library'))).filter((name) => /^vectors-.*\.hnsw$/.test(name));
  expect(names).toHaveLength(1);
  return path.join(dataDir.path, 'library', names[0]!);
}

/** `papers` added to the test's library by a separate node process, giving up on the write lock after `lockTimeoutMs`. */
async function addInAnotherProcess(
  papers: Paper[],
  lockTimeoutMs: number,
): Promise<{ code: number | null; stderr: string }> {
  const input = path.join(dataDir.path, `papers-${papers.length}-${lockTimeoutMs}.json`);
  await writeFile(input, JSON.stringify(papers));
  const script = [
    `import { readFileSync } from 'node:fs';`,
    ...libraryScriptImports(REPO),
    `const library = await PaperLibrary.open({ dataDir: ${JSON.stringify(dataDir.path)}, embedder: countingEmbedder(), logger: silentLogger(), lockTimeoutMs: ${lockTimeoutMs} });`,
    `try { await library.add(JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'))); }`,
    `catch (error) { process.stderr.write(String(error.message)); process.exitCode = 1; }`,
    `finally { await library.close(); }`,
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve(exitCode));
  });
  return { code, stderr };
}

beforeEach(async () => {
  dataDir = await temporaryDirectory('papercord-library-');
});
afterEach(async () => {
  for (const library of opened.splice(0)) await library.close();
  await dataDir.remove();
});

describe('PaperLibrary', () => {
  it('given the seed papers, it should find Mixture-of-Recursions first for a description of it, with a cosine score', async () => {
    const library = await openLibrary();
    await library.add(seeds);

    const [best] = await library.vectorSearch(ROUTER_QUERY, 5);

    expect(best.paper.title).toMatch(/^Mixture-of-Recursions/);
    expect(best.score).toBeGreaterThan(0);
    expect(best.score).toBeLessThanOrEqual(1);
    expect(library.lexicalSearch('MrT5 byte-level', 3)[0].paper.title).toMatch(/^MrT5/);
  });

  it('given the library as a LangChain vector store, it should find papers as Documents read from the database, with no docstore copy on disk', async () => {
    const library = await openLibrary();
    await library.add(seeds);

    const vectorStore = new PaperVectorStore(library);
    const [[document, score]] = await vectorStore.similaritySearchWithScore(ROUTER_QUERY, 1);
    await vectorStore.addDocuments([
      { pageContent: 'Sparse Routing at Scale\n\nA method for routing tokens.', metadata: {} },
    ]);

    expect(document.metadata.title).toMatch(/^Mixture-of-Recursions/);
    expect(document.pageContent).toContain(document.metadata.title);
    expect(score).toBeGreaterThan(0);
    expect(library.getByTitle('Sparse Routing at Scale')?.abstract).toBe('A method for routing tokens.');
    expect(
      (await readdir(path.join(dataDir.path, 'library'))).filter((name) => /docstore|papers\.jsonl/.test(name)),
    ).toEqual([]);
  });

  it('given a library reopened from disk, it should hold the same papers and answer the same without embedding them again', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    const before = (await first.vectorSearch(ROUTER_QUERY, 5)).map((hit) => hit.paper.id);
    await first.close();

    const embedder = countingEmbedder();
    const reopened = await openLibrary({ embedder });

    expect(reopened.size).toBe(54);
    expect((await reopened.vectorSearch(ROUTER_QUERY, 5)).map((hit) => hit.paper.id)).toEqual(before);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(await reopened.stats()).toMatchObject({
      papers: 54,
      vectors: 54,
      dimension: embedder.dimension,
      embedder: embedder.id,
    });
  });

  it('given an index built by another embedder, it should say so and rebuild it for the configured one', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.close();

    const { logger, warnings } = recordingLogger();
    const smaller = countingEmbedder({ dimension: 256 });
    const library = await openLibrary({ embedder: smaller, logger });

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /built by embedder hashing:v1:1024:\S+ \(1024 dimensions\), now configured: hashing:v1:256:\S+ \(256 dimensions\); re-embedding 54 papers/,
    );
    expect(await library.stats()).toMatchObject({ papers: 54, vectors: 54, dimension: 256 });
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0].paper.title).toMatch(/^Mixture-of-Recursions/);
  });

  it('given a truncated checkpoint of the vector index, it should warn once, rebuild it from the stored vectors without embedding, and load cleanly afterwards', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.checkpoint();
    await first.close();
    await truncate(await checkpointFile(), 1000);

    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();
    const library = await openLibrary({ logger, embedder });

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /vector index vectors-\S+\.hnsw is unusable \(vectors-\S+ has 1000 bytes, the database says \d+\); rebuilding it from 54 stored vectors/,
    );
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0].paper.title).toMatch(/^Mixture-of-Recursions/);
    await library.close();

    const again = recordingLogger();
    await openLibrary({ logger: again.logger });
    expect(again.warnings).toEqual([]);
  });

  it('given more vectors since the checkpoint than checkpointEvery while another process holds the write lock, opening should neither wait for it nor warn', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.checkpoint();
    await first.close();
    // As a bulk ingest killed before its checkpoint leaves it: 54 vectors in the database, no checkpoint.
    const db = new Database(path.join(dataDir.path, 'library', 'library.db'));
    db.prepare("DELETE FROM meta WHERE key = 'checkpoint'").run();
    db.close();
    await rm(await checkpointFile());
    // A live process of this machine (not this one) holding the lock, as a writer mid-ingest does.
    const writer = spawn('sleep', ['120'], { stdio: 'ignore' });
    await writeFile(
      path.join(dataDir.path, 'library', 'write.lock'),
      JSON.stringify({ pid: writer.pid, hostname: os.hostname(), since: new Date().toISOString() }),
    );
    try {
      const { logger, warnings } = recordingLogger();
      // A library that waited would give up after 5 s with a warning naming the writer.
      const library = await openLibrary({ logger, checkpointEvery: 10, lockTimeoutMs: 5_000 });

      expect((await library.vectorSearch(ROUTER_QUERY, 1))[0].paper.title).toMatch(/^Mixture-of-Recursions/);
      expect(warnings).toEqual([]);
      expect((await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.hnsw'))).toEqual([]);
    } finally {
      writer.kill();
    }
    // Once the writer is gone, the next open writes the checkpoint it skipped.
    await rm(path.join(dataDir.path, 'library', 'write.lock'));
    await openLibrary({ checkpointEvery: 10 });
    await checkpointFile();
  });

  it('given a checkpoint recorded with the sha256 of earlier versions, it should load it, and detect it corrupted in place', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.checkpoint();
    await first.close();
    const file = await checkpointFile();
    const bytes = await readFile(file);
    const db = new Database(path.join(dataDir.path, 'library', 'library.db'));
    const record = JSON.parse(
      db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'checkpoint'").get()!.value,
    ) as Record<string, unknown>;
    const { crc32: _written, ...older } = record;
    db.prepare("UPDATE meta SET value = ? WHERE key = 'checkpoint'").run(
      JSON.stringify({ ...older, sha256: createHash('sha256').update(bytes).digest('hex') }),
    );
    db.close();

    const intact = recordingLogger();
    await (await openLibrary({ logger: intact.logger })).close();
    expect(intact.warnings).toEqual([]);

    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(file, bytes);
    const { logger, warnings } = recordingLogger();
    const library = await openLibrary({ logger });

    expect(warnings).toEqual([expect.stringMatching(/vectors-\S+ does not match its checksum/)]);
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0].paper.title).toMatch(/^Mixture-of-Recursions/);
  });

  it('given a checkpoint corrupted in place (same size), it should detect it by checksum and rebuild', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.checkpoint();
    await first.close();
    const file = await checkpointFile();
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(file, bytes);

    const { logger, warnings } = recordingLogger();
    const library = await openLibrary({ logger });

    expect(warnings).toEqual([expect.stringMatching(/vectors-\S+ does not match its checksum/)]);
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0].paper.title).toMatch(/^Mixture-of-Recursions/);
  });

  it('given papers committed after the last checkpoint, it should add their vectors to the graph at open without embedding again', async () => {
    const first = await openLibrary({ checkpointEvery: 1_000_000 });
    await first.add(seeds.slice(0, 30));
    await first.checkpoint();
    await first.add(seeds.slice(30), { checkpoint: false });
    // Not closed: like a process killed after its commits, before any checkpoint.

    const embedder = countingEmbedder();
    const reopened = await openLibrary({ embedder });

    expect(reopened.size).toBe(54);
    expect(await reopened.stats()).toMatchObject({ papers: 54, vectors: 54, vectorsSinceCheckpoint: 24 });
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    const late = seeds[40]!;
    expect((await reopened.vectorSearch(`${late.title}\n\n${late.abstract}`, 1))[0].paper.id).toBe(late.id);
  });

  it('given a library with a checkpoint, a process that adds fewer papers than checkpointEvery should leave the checkpoint as it was, and the next open should find them without embedding again', async () => {
    const first = await openLibrary();
    await first.add(seeds.slice(0, 40));
    await first.checkpoint();
    await first.close();
    const file = await checkpointFile();
    const before = await stat(file);

    // A short CLI run in its own process: adds 14 papers, closes.
    expect(await addInAnotherProcess(seeds.slice(40), 30_000)).toMatchObject({ code: 0, stderr: '' });

    expect(await checkpointFile()).toBe(file);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    const embedder = countingEmbedder();
    const reopened = await openLibrary({ embedder });
    expect(await reopened.stats()).toMatchObject({ papers: 54, vectors: 54, vectorsSinceCheckpoint: 14 });
    const late = seeds[50]!;
    expect((await reopened.vectorSearch(`${late.title}\n\n${late.abstract}`, 1))[0].paper.id).toBe(late.id);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
  });

  it('given small ingests one after another, the one that takes the papers since the checkpoint past checkpointEvery should write it, and only that one', async () => {
    const checkpoints = async () =>
      (await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.hnsw'));
    for (const [index, start] of [0, 10, 20].entries()) {
      const run = await openLibrary({ checkpointEvery: 25 });
      await ingestInBatches(run, seeds.slice(start, start + 10));
      await run.close();
      expect(await checkpoints()).toHaveLength(index < 2 ? 0 : 1);
    }
    const reopened = await openLibrary({ checkpointEvery: 25 });
    expect(await reopened.stats()).toMatchObject({ papers: 30, vectorsSinceCheckpoint: 0 });
  });

  it('given a library opened as the CLI opens it (deferGraph), it should add papers without reading the HNSW graph, and load it for the first vector search', async () => {
    const first = await openLibrary();
    await first.add(seeds.slice(0, 40));
    await first.checkpoint();
    await first.close();
    // A damaged checkpoint is noticed (and rebuilt, with a warning) only by whoever reads the graph.
    await truncate(await checkpointFile(), 1000);

    const { logger, warnings } = recordingLogger();
    const cli = await openLibrary({ logger, deferGraph: true });
    await cli.add(seeds.slice(40));
    expect(warnings).toEqual([]);
    expect(cli.size).toBe(54);

    const late = seeds[50]!;
    expect((await cli.vectorSearch(`${late.title}\n\n${late.abstract}`, 1))[0].paper.id).toBe(late.id);
    expect(warnings).toEqual([expect.stringMatching(/vector index vectors-\S+ is unusable/)]);
  });

  it('given a library opened with deferGraph whose adds cross checkpointEvery, it should load the graph and write a checkpoint holding every vector', async () => {
    const first = await openLibrary();
    await first.add(seeds.slice(0, 30));
    await first.checkpoint();
    await first.close();

    const cli = await openLibrary({ deferGraph: true, checkpointEvery: 20 });
    await cli.add(seeds.slice(30));
    await cli.close();

    const reopened = await openLibrary();
    expect(await reopened.stats()).toMatchObject({ papers: 54, vectors: 54, vectorsSinceCheckpoint: 0 });
    const late = seeds[50]!;
    expect((await reopened.vectorSearch(`${late.title}\n\n${late.abstract}`, 1))[0].paper.id).toBe(late.id);
  });

  const steps: SaveStep[] = ['embedded', 'commit', 'checkpoint-written', 'checkpoint'];
  it.each(steps)(
    'given a write that fails at the "%s" step, it should leave a library that loads, old or new, never half',
    async (failingStep) => {
      const first = await openLibrary();
      await first.add(seeds);
      await first.close();
      const crashing = await openLibrary({
        checkpointEvery: 1,
        onSaveStep: (step) => {
          if (step === failingStep) throw new Error(`simulated crash at ${step}`);
        },
      });

      await expect(crashing.add([newPaper('Sparse Routing at Scale')])).rejects.toThrow('simulated crash');
      const committed = failingStep !== 'embedded';
      expect(crashing.size).toBe(committed ? 55 : 54);
      await crashing.close();

      const { logger, warnings } = recordingLogger();
      const reopened = await openLibrary({ logger });
      expect(warnings).toEqual([]);
      expect(reopened.size).toBe(committed ? 55 : 54);
      expect((await reopened.stats()).vectors).toBe(reopened.size);
      await reopened.add([newPaper('Another Routing Paper')]);
      expect(reopened.size).toBe(committed ? 56 : 55);
      expect(reopened.all().filter((paper) => paper.title === 'Sparse Routing at Scale')).toHaveLength(
        committed ? 1 : 0,
      );
    },
  );

  /** Runs `add` of `papers`, ten at a time, in a child process that kills itself with SIGKILL at `step`. */
  async function killedAt(step: SaveStep, papers: Paper[], options: { checkpointEvery?: number } = {}): Promise<void> {
    const script = path.join(dataDir.path, 'killed.mts');
    await writeFile(
      script,
      [
        ...libraryScriptImports(REPO),
        `let commits = 0;`,
        `const library = await PaperLibrary.open({ dataDir: ${JSON.stringify(dataDir.path)}, embedder: countingEmbedder(), logger: silentLogger(),`,
        `  checkpointEvery: ${options.checkpointEvery ?? 1_000},`,
        `  onSaveStep: (step) => { if (step === 'commit') commits += 1; if (step === ${JSON.stringify(step)} && (step !== 'commit' || commits === 2)) process.kill(process.pid, 'SIGKILL'); } });`,
        `const papers = ${JSON.stringify(papers)};`,
        `for (let start = 0; start < papers.length; start += 10) await library.add(papers.slice(start, start + 10));`,
        `await library.close();`,
      ].join('\n'),
    );
    const signal = await signalThatEnds(script, REPO);
    expect(signal).toBe('SIGKILL');
  }

  it('given a process killed before its commit, it should leave the previous library loadable without the uncommitted paper', async () => {
    const first = await openLibrary();
    await first.add(seeds);
    await first.close();

    await killedAt('embedded', [newPaper('Killed Mid-Save')]);

    const { logger, warnings } = recordingLogger();
    const library = await openLibrary({ logger });
    expect(warnings).toEqual([]);
    expect(library.size).toBe(54);
    expect(library.getByTitle('Killed Mid-Save')).toBeUndefined();
    // The dead process's write lock does not block the next write.
    await library.add([newPaper('Sparse Routing at Scale')]);
    expect(library.size).toBe(55);
  });

  it('given a bulk ingest killed after its second batch committed, it should keep both batches exactly once', async () => {
    await killedAt('commit', seeds.slice(0, 30));

    const library = await openLibrary();
    expect(library.size).toBe(20);
    expect((await library.stats()).vectors).toBe(20);
    await library.add(seeds);
    expect(library.size).toBe(54);
    expect(new Set(library.all().map((paper) => paper.id)).size).toBe(54);
  });

  it('given a process killed while writing a checkpoint, it should open with every committed paper once and no warning', async () => {
    const first = await openLibrary();
    await first.add(seeds.slice(0, 30));
    await first.checkpoint();
    await first.close();

    await killedAt('checkpoint-written', seeds.slice(30), { checkpointEvery: 5 });

    const { logger, warnings } = recordingLogger();
    const library = await openLibrary({ logger });
    expect(warnings).toEqual([]);
    expect(library.size).toBe(40);
    expect((await library.stats()).vectors).toBe(40);
    const leftovers = (await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.tmp'));
    expect(leftovers).toHaveLength(1);
    await library.add(seeds);
    await library.checkpoint();
    expect(library.size).toBe(54);
    expect(new Set(library.all().map((paper) => paper.id)).size).toBe(54);
    // The unfinished checkpoint's temporary file is cleaned up by the next one.
    expect((await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('given a read-only reader sharing a library, it should see the papers another process commits without reopening', async () => {
    const cli = await openLibrary();
    await cli.add(seeds.slice(0, 5));
    const reader = await openLibrary({ readOnly: true });

    await cli.add(seeds.slice(5));

    expect(reader.size).toBe(54);
    const recursions = seeds.find((paper) => paper.title.startsWith('Mixture-of-Recursions'))!;
    expect(reader.get(recursions.id)?.title).toBe(recursions.title);
    expect((await reader.vectorSearch(ROUTER_QUERY, 1))[0].paper.id).toBe(recursions.id);
    expect(reader.lexicalSearch('MrT5 byte-level', 1)[0].paper.title).toMatch(/^MrT5/);
    await expect(reader.add([newPaper('Sparse Routing at Scale')])).rejects.toThrow(/read-only/);
  });

  it('given two adds at once and a search during them, it should keep both and never return a half-added paper', async () => {
    // The first add is held half-way through its save, so the searches surely run while papers are being added.
    let holding = false;
    let reached: () => void = () => {};
    const inSave = new Promise<void>((resolve) => (reached = resolve));
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const library = await openLibrary({
      onSaveStep: async (step) => {
        if (!holding || step !== 'embedded') return;
        reached();
        await resumed;
      },
    });
    const committed = seeds.slice(0, 20);
    await library.add(committed);

    holding = true;
    const adds = Promise.all([library.add(seeds.slice(20, 40)), library.add(seeds.slice(30))]);
    await inSave;
    const during = await Promise.all(Array.from({ length: 5 }, () => library.vectorSearch(ROUTER_QUERY, 60)));
    for (const hits of during)
      expect(hits.map((hit) => hit.paper.id).sort()).toEqual(committed.map((paper) => paper.id).sort());
    expect(library.size).toBe(20);
    resume();
    const [a, b] = await adds;

    expect(a.added.length + b.added.length).toBe(34);
    expect(b.existing).toBe(10);
    expect(library.size).toBe(54);
    const after = await library.vectorSearch(ROUTER_QUERY, 60);
    expect(after).toHaveLength(54);
    expect(after.every((hit) => library.get(hit.paper.id) !== undefined)).toBe(true);
    await library.close();
    expect((await openLibrary()).size).toBe(54);
  });

  it('given two processes adding to the same library, it should keep the papers of both, the second waiting for the first', async () => {
    const bot = await openLibrary();
    await bot.add(seeds.slice(0, 30));
    // This process holds the write lock, half-way through a save, until the other process has been seen waiting.
    let reached: () => void = () => {};
    const inSave = new Promise<void>((resolve) => (reached = resolve));
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const holder = await openLibrary({
      onSaveStep: async (step) => {
        if (step !== 'embedded') return;
        reached();
        await resumed;
      },
    });
    const holderAdd = holder.add([newPaper('Sparse Routing at Scale')]);
    await inSave;

    const impatient = await addInAnotherProcess([newPaper('Another Routing Paper')], 300);
    expect(impatient.code).toBe(1);
    expect(impatient.stderr).toMatch(new RegExp(`is being written by process ${process.pid} on `));

    const patient = addInAnotherProcess([...seeds.slice(20, 40), newPaper('Another Routing Paper')], 30_000);
    resume();
    await holderAdd;
    expect(await patient).toMatchObject({ code: 0, stderr: '' });

    await bot.close();
    await holder.close();
    const reopened = await openLibrary();
    expect(reopened.size).toBe(42);
    expect((await reopened.stats()).vectors).toBe(42);
    expect(reopened.get(newPaper('Another Routing Paper').id)).toBeDefined();
  });

  it('given another writer in this process (a second library, as in another worker thread) writing for longer than the lock timeout, it should give up with a message naming the process and thread', async () => {
    const first = await openLibrary();
    await first.add(seeds.slice(0, 5));
    let resume: () => void = () => {};
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let reached: () => void = () => {};
    const inSave = new Promise<void>((resolve) => (reached = resolve));
    const slow = await openLibrary({
      onSaveStep: async (step) => {
        if (step !== 'embedded') return;
        reached();
        await paused;
      },
    });
    const slowAdd = slow.add([newPaper('Sparse Routing at Scale')]);
    await inSave;

    const impatient = await openLibrary({ lockTimeoutMs: 200 });
    await expect(impatient.add([newPaper('Another Routing Paper')])).rejects.toThrow(
      new RegExp(`is being written by process ${process.pid} \\(thread \\d+\\) on .*; try again when it has finished`),
    );
    resume();
    await slowAdd;
    await impatient.add([newPaper('Another Routing Paper')]);
    expect(impatient.size).toBe(7);
  });

  it('given a lock left by a crashed earlier run with the same pid (a restarted container), it should take the lock over', async () => {
    const library = await openLibrary({ lockTimeoutMs: 200 });
    const lock = { pid: process.pid, hostname: os.hostname(), since: '2025-07-28T12:00:00.000Z' };
    await writeFile(path.join(dataDir.path, 'library', 'write.lock'), JSON.stringify(lock));

    await library.add([newPaper('Sparse Routing at Scale')]);
    expect(library.size).toBe(1);
  });

  it('given an aborted ingest, it should add nothing', async () => {
    const library = await openLibrary();
    const controller = new AbortController();
    controller.abort();

    await expect(library.add(seeds, { signal: controller.signal })).rejects.toThrow();
    expect(library.size).toBe(0);
    expect(await library.vectorSearch(ROUTER_QUERY, 5)).toEqual([]);
  });
});
