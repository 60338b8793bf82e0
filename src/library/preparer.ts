import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { CreateEmbedderOptions } from '../embeddings/registry.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { AnalyzedPaper } from '../text/analysis.js';
import type { PreparedPaper } from './library.js';

/**
 * Embeds and analyzes papers on a worker thread, so a bulk ingest uses both cores: the worker prepares the next
 * batch while the main thread commits the last one and adds it to the HNSW graph.
 */

export interface PrepareRequest {
  id: number;
  papers: readonly Paper[];
}

export type PrepareReply =
  | { ready: string }
  | { id: number; prepared: ReadonlyArray<readonly [string, { vector: Float32Array; analyzed: AnalyzedPaper }]> }
  | { id: number; error: string };

/** How the worker runs its model (benchmarks compare settings); cloned to the worker, so plain data only. */
export type PreparerEmbedderOptions = Pick<CreateEmbedderOptions, 'threads' | 'batchOrder'>;

/** Built JavaScript, or from TypeScript sources through tsx's API (see prepareWorkerFromSource.mjs). */
const WORKER_FILE = import.meta.url.endsWith('.ts') ? './prepareWorkerFromSource.mjs' : './prepareWorker.js';

export class PaperPreparer {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (value: ReadonlyMap<string, PreparedPaper>) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: PrepareReply) => {
      if ('ready' in reply) return;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiting?.reject(new Error(`embedding on the worker thread failed: ${reply.error}`));
      else waiting?.resolve(new Map(reply.prepared.map(([id, entry]) => [id, entry])));
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', () => this.failAll(new Error('the embedding worker thread stopped')));
  }

  /**
   * A worker with the same embedder as `embedder`, or undefined (with a warning) when one cannot be started or
   * builds another embedder (a model that loads here but not there): the library then embeds on this thread.
   */
  static async start(
    config: Config,
    embedder: PaperEmbedder,
    logger: Logger,
    embedderOptions: PreparerEmbedderOptions = {},
  ): Promise<PaperPreparer | undefined> {
    const worker = new Worker(new URL(WORKER_FILE, import.meta.url), { workerData: { config, embedderOptions } });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        worker.once('message', (reply: PrepareReply) =>
          'ready' in reply ? resolve(reply.ready) : reject(new Error('unexpected reply')),
        );
        worker.once('error', reject);
        worker.once('exit', () => reject(new Error('the worker exited while starting')));
      });
      if (ready !== embedder.id) throw new Error(`the worker built embedder ${ready}, the library uses ${embedder.id}`);
      return new PaperPreparer(worker);
    } catch (error) {
      // Slower, not wrong: say so, since an ingest of 100,000 papers then takes about twice as long.
      logger.warn(
        `bulk ingest embeds on the main thread: the worker thread could not start (${error instanceof Error ? error.message : String(error)})`,
      );
      await worker.terminate();
      return undefined;
    }
  }

  prepare(papers: readonly Paper[]): Promise<ReadonlyMap<string, PreparedPaper>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, papers } satisfies PrepareRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
