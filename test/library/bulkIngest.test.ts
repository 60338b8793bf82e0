import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ingestInBatches } from '../../src/library/bulkIngest.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { PaperPreparer } from '../../src/library/preparer.js';
import type { Paper } from '../../src/papers/paper.js';
import { countingEmbedder, recordingLogger, temporaryDirectory } from './support.js';
import { libraryScriptImports, signalThatEnds } from '../support/processes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOPICS = [
  'sparse attention kernels',
  'fast diffusion samplers',
  'reward models for alignment',
  'retrieval-augmented generation',
];

const papers: Paper[] = Array.from({ length: 60 }, (_, index) => ({
  id: `2401.${String(10_000 + index)}`,
  title: `Paper ${index}: ${TOPICS[index % TOPICS.length]} at scale ${index}`,
  abstract: `We study ${TOPICS[index % TOPICS.length]} in setting number ${index}, with ablations ${index * 7}.`,
  source: 'test',
}));

const ownText = (paper: Paper) => `${paper.title}\n\n${paper.abstract}`;

describe('bulk ingest on worker threads', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function dataDir(): Promise<string> {
    const directory = await temporaryDirectory('papercord-bulk-');
    cleanups.push(directory.remove);
    return directory.path;
  }

  it('given papercord running from its TypeScript sources, it should embed on the worker thread, not the main one, and store the same vectors', async () => {
    const directory = await dataDir();
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();
    const library = await PaperLibrary.open({ dataDir: directory, embedder, logger });
    cleanups.push(() => library.close());
    const preparer = await PaperPreparer.start(
      loadConfig({ EMBEDDINGS: 'hashing', DATA_DIR: directory }),
      embedder,
      logger,
    );
    expect(preparer, warnings.join('\n')).toBeDefined();
    cleanups.push(() => preparer!.close());

    const result = await ingestInBatches(library, papers, {
      batchSize: 25,
      prepare: (batch) => preparer!.prepare(batch),
    });

    expect(result).toMatchObject({ added: 60, existing: 0, interrupted: false });
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(warnings).toEqual([]);
    // The worker's vectors are the main thread's: a paper's own text finds it first, at cosine 1.
    const [best] = await library.vectorSearch(ownText(papers[7]!), 1);
    expect(best?.paper.id).toBe(papers[7]!.id);
    expect(best?.score).toBeCloseTo(1, 5);
  });

  it('given the vector index built on a worker thread, it should checkpoint every paper at the end, find papers while the ingest runs, and reopen with nothing to add again', async () => {
    const directory = await dataDir();
    const { logger, warnings } = recordingLogger();
    const library = await PaperLibrary.open({ dataDir: directory, embedder: countingEmbedder(), logger });
    await library.add(papers.slice(0, 10));
    await library.close();

    // The 50 papers of this ingest take it past the checkpoint count, so it ends with a checkpoint.
    const ingesting = await PaperLibrary.open({
      dataDir: directory,
      embedder: countingEmbedder(),
      logger,
      checkpointEvery: 30,
    });
    const graph = await ingesting.startBulkGraph();
    expect(graph, warnings.join('\n')).toBeDefined();
    let foundDuringIngest: string | undefined;
    async function* slowly(): AsyncGenerator<Paper> {
      for (const [index, paper] of papers.slice(10).entries()) {
        // The first batch of this ingest has committed by now (batches are read one ahead of the commit): a search in
        // the same process sees it.
        if (index === 45) foundDuringIngest = (await ingesting.vectorSearch(ownText(papers[15]!), 1))[0]?.paper.id;
        yield paper;
      }
    }
    const result = await ingestInBatches(ingesting, slowly(), { batchSize: 20, graph });
    expect(result).toMatchObject({ added: 50, interrupted: false });
    expect(foundDuringIngest).toBe(papers[15]!.id);
    expect((await ingesting.stats()).vectorsSinceCheckpoint).toBe(0);
    expect((await ingesting.vectorSearch(ownText(papers[59]!), 1))[0]?.paper.id).toBe(papers[59]!.id);
    await ingesting.close();

    const reopened = await PaperLibrary.open({ dataDir: directory, embedder: countingEmbedder(), logger });
    cleanups.push(() => reopened.close());
    expect(warnings).toEqual([]);
    expect(reopened.size).toBe(60);
    expect((await reopened.stats()).vectorsSinceCheckpoint).toBe(0);
    for (const paper of [papers[3]!, papers[44]!])
      expect((await reopened.vectorSearch(ownText(paper), 1))[0]?.paper.id).toBe(paper.id);
    // One checkpoint file: the worker's; the one it replaced is gone.
    expect((await readdir(path.join(directory, 'library'))).filter((name) => name.endsWith('.hnsw'))).toHaveLength(1);
  });

  for (const step of ['commit', 'checkpoint'] as const) {
    it(`given a bulk ingest with its graph on a worker thread killed at its ${step === 'commit' ? 'second commit' : 'checkpoint'}, it should reopen with every committed paper once, findable, and no warning`, async () => {
      const directory = await dataDir();
      const script = path.join(directory, 'killed.mts');
      await writeFile(
        script,
        [
          ...libraryScriptImports(REPO),
          `import { ingestInBatches } from ${JSON.stringify(path.join(REPO, 'src/library/bulkIngest.ts'))};`,
          `let commits = 0;`,
          `const library = await PaperLibrary.open({ dataDir: ${JSON.stringify(directory)}, embedder: countingEmbedder(), logger: silentLogger(), checkpointEvery: 30,`,
          `  onSaveStep: (step) => { if (step === 'commit') commits += 1; if (step === ${JSON.stringify(step)} && (step !== 'commit' || commits === 2)) process.kill(process.pid, 'SIGKILL'); } });`,
          `const graph = await library.startBulkGraph();`,
          `if (!graph) process.exit(3);`,
          `await ingestInBatches(library, ${JSON.stringify(papers)}, { batchSize: 20, graph });`,
        ].join('\n'),
      );
      const signal = await signalThatEnds(script, REPO);
      expect(signal).toBe('SIGKILL');

      const { logger, warnings } = recordingLogger();
      const library = await PaperLibrary.open({ dataDir: directory, embedder: countingEmbedder(), logger });
      cleanups.push(() => library.close());
      expect(warnings).toEqual([]);
      const committed = step === 'commit' ? 40 : 60;
      expect(library.size).toBe(committed);
      expect((await library.stats()).vectors).toBe(committed);
      expect((await library.vectorSearch(ownText(papers[committed - 1]!), 1))[0]?.paper.id).toBe(
        papers[committed - 1]!.id,
      );
      await library.add(papers);
      expect(new Set(library.all().map((paper) => paper.id)).size).toBe(60);
    });
  }
});
