/**
 * Intake never delays a question: the bot's intake adds papers on the library worker threads that answer questions,
 * and a model call (onnxruntime-node's `run`) blocks its thread until it returns. Intake therefore embeds a few papers
 * per call, and a question's steps run between the calls. Ordering only, no timings: the question must be answered
 * while the intake still has papers to embed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Embeddings } from '@langchain/core/embeddings';
import { HashingEmbeddings } from '../../src/embeddings/hashing.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { INTAKE_EMBED_BATCH } from '../../src/intake/paperIntake.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { newPaper, temporaryDirectory } from '../library/support.js';

/**
 * The hashing embedder run the way onnxruntime-node runs a model: the call is scheduled with setImmediate, then holds
 * the thread for the whole batch. It counts the documents embedded so far.
 */
class ThreadBlockingEmbeddings extends Embeddings {
  embedded = 0;
  /** Calls `onDocuments` once, when the next call to embed documents begins. */
  onDocuments: (() => void) | undefined;
  private readonly inner = new HashingEmbeddings();

  constructor() {
    super({});
  }

  get dimension(): number {
    return this.inner.dimension;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const onDocuments = this.onDocuments;
    this.onDocuments = undefined;
    onDocuments?.();
    await new Promise((resolve) => setImmediate(resolve));
    // Work that grows with the batch, as a model's does, without yielding.
    for (const document of documents) for (let round = 0; round < 200; round += 1) this.inner.embedQuery(document);
    this.embedded += documents.length;
    return this.inner.embedDocuments(documents);
  }

  async embedQuery(document: string): Promise<number[]> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.inner.embedQuery(document);
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function libraryWithBlockingModel(): Promise<{ library: PaperLibrary; embeddings: ThreadBlockingEmbeddings }> {
  const dataDir = await temporaryDirectory('papercord-intake-yields-');
  cleanups.push(() => dataDir.remove());
  const embeddings = new ThreadBlockingEmbeddings();
  const embedder: PaperEmbedder = {
    embeddings,
    id: 'hashing-blocking',
    kind: 'hashing',
    dimension: embeddings.dimension,
    description: 'hashing embedder that blocks its thread per call',
    close: async () => {},
  };
  const library = await PaperLibrary.open({ dataDir: dataDir.path, embedder, logger: silentLogger() });
  cleanups.push(() => library.close());
  await library.add([newPaper('Sparse Routing at Scale')]);
  return { library, embeddings };
}

/** How many of the 20 new papers were embedded when a question asked once the adding began was answered. */
async function embeddedWhenQuestionAnswered(addOptions: { embedBatchSize?: number }): Promise<number> {
  const { library, embeddings } = await libraryWithBlockingModel();
  const before = embeddings.embedded;
  const papers = Array.from({ length: 20 }, (_, index) => newPaper(`Intake Paper Number ${index + 1}`));
  const embedding = new Promise<void>((resolve) => (embeddings.onDocuments = resolve));
  const adding = library.add(papers, addOptions);
  // Asked once the intake has begun embedding, as a question arrives while papers are being added.
  await embedding;
  const answered = library.vectorSearch('sparse routing of tokens', 3).then((hits) => {
    expect(hits[0]!.paper.title).toBe('Sparse Routing at Scale');
    return embeddings.embedded - before;
  });
  const [embeddedThen, added] = await Promise.all([answered, adding]);
  expect(added.added).toHaveLength(20);
  return embeddedThen;
}

describe('intake beside questions on one thread', () => {
  it('given 20 papers added as intake adds them, a question asked meanwhile should be answered before all 20 are embedded', async () => {
    const embeddedThen = await embeddedWhenQuestionAnswered({ embedBatchSize: INTAKE_EMBED_BATCH });

    expect(embeddedThen).toBeLessThan(20);
  });

  it('given the same 20 papers in one model call, the question should wait for all of them (what intake did before)', async () => {
    const embeddedThen = await embeddedWhenQuestionAnswered({});

    expect(embeddedThen).toBe(20);
  });
});
