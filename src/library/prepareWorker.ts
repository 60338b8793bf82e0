import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { createEmbedder } from '../embeddings/registry.js';
import { silentLogger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { analyzePaper } from '../text/analysis.js';
import type { PrepareReply, PrepareRequest, PreparerEmbedderOptions } from './preparer.js';
import { paperEmbeddingText } from './paperText.js';

/** The worker thread of `PaperPreparer`: embeds and analyzes batches of papers for a bulk ingest. */
const { config, embedderOptions } = workerData as { config: Config; embedderOptions: PreparerEmbedderOptions };
const embedder = await createEmbedder(config, silentLogger(), embedderOptions);
parentPort!.postMessage({ ready: embedder.id } satisfies PrepareReply);
parentPort!.on('message', (request: PrepareRequest | 'close') => {
  if (request === 'close') {
    void embedder.close().finally(() => parentPort!.close());
    return;
  }
  void prepare(request.papers).then(
    (prepared) => {
      const transfer = prepared.map(([, entry]) => entry.vector.buffer as ArrayBuffer);
      parentPort!.postMessage({ id: request.id, prepared } satisfies PrepareReply, transfer);
    },
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies PrepareReply),
  );
});

async function prepare(papers: readonly Paper[]) {
  const vectors = await embedder.embeddings.embedDocuments(papers.map(paperEmbeddingText));
  return papers.map(
    (paper, index) =>
      [paper.id, { vector: Float32Array.from(vectors[index]!), analyzed: analyzePaper(paper) }] as const,
  );
}
