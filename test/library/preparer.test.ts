import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ingestInBatches } from '../../src/library/bulkIngest.js';
import { PaperLibrary } from '../../src/library/paperLibrary.js';
import { PaperPreparer } from '../../src/library/preparer.js';
import type { Paper } from '../../src/papers/paper.js';
import { countingEmbedder, recordingLogger, temporaryDirectory } from './support.js';

const papers: Paper[] = Array.from({ length: 60 }, (_, index) => ({
  id: `2401.${String(10_000 + index)}`,
  title: `Paper ${index}: ${['sparse attention', 'diffusion sampling', 'reward modelling'][index % 3]} at scale ${index}`,
  abstract: `We study ${['sparse attention kernels', 'fast diffusion samplers', 'reward models for alignment'][index % 3]} in setting ${index}.`,
  source: 'test',
}));

describe('bulk ingest on a worker thread', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('given papercord running from its TypeScript sources, it should embed on the worker thread, not the main one, and store the same vectors', async () => {
    const directory = await temporaryDirectory('papercord-preparer-');
    cleanups.push(directory.remove);
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();
    const library = await PaperLibrary.open({ dataDir: directory.path, embedder, logger });
    cleanups.push(() => library.close());
    const preparer = await PaperPreparer.start(loadConfig({ EMBEDDINGS: 'hashing', DATA_DIR: directory.path }), embedder, logger);
    expect(preparer, warnings.join('\n')).toBeDefined();
    cleanups.push(() => preparer!.close());

    const result = await ingestInBatches(library, papers, { batchSize: 25, prepare: (batch) => preparer!.prepare(batch) });

    expect(result).toMatchObject({ added: 60, existing: 0, interrupted: false });
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(warnings).toEqual([]);
    // The worker's vectors are the main thread's: a paper's own text finds it first, at cosine 1.
    const [best] = await library.vectorSearch(`${papers[7]!.title}\n\n${papers[7]!.abstract}`, 1);
    expect(best?.paper.id).toBe(papers[7]!.id);
    expect(best?.score).toBeCloseTo(1, 5);
  });
});
