import { Worker } from 'node:worker_threads';
import type { GraphReply, GraphRequest, GraphWorkerData } from './graphWorker.js';
import type { CheckpointRecord } from './vectorIndex.js';

/**
 * The HNSW graph of a bulk ingest, kept on a worker thread (see graphWorker.ts): `committed` after each commit lets
 * it add the new vectors while the next batch commits; `checkpoint` writes the graph with every committed vector.
 */

/** Built JavaScript, or from TypeScript sources through tsx's API. */
const WORKER_FILE = import.meta.url.endsWith('.ts') ? './graphWorkerFromSource.mjs' : './graphWorker.js';

export class GraphWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (record: CheckpointRecord | undefined) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: GraphReply) => {
      if ('ready' in reply) return;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiting?.reject(new Error(reply.error));
      else waiting?.resolve(reply.record);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', () => this.fail(new Error('the graph worker thread stopped')));
  }

  /** Resolves once the worker holds the graph through the newest commit; rejects when it cannot start. */
  static async start(data: GraphWorkerData): Promise<GraphWorker> {
    const worker = new Worker(new URL(WORKER_FILE, import.meta.url), { workerData: data });
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('message', (reply: GraphReply) =>
          'ready' in reply ? resolve() : reject(new Error('unexpected reply')),
        );
        worker.once('error', reject);
        worker.once('exit', () => reject(new Error('the worker exited while starting')));
      });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return new GraphWorker(worker);
  }

  /** New vectors are in the database: add them (the worker reads them itself). */
  committed(): void {
    if (!this.failure) this.worker.postMessage({ kind: 'catch-up' } satisfies GraphRequest);
  }

  /** Writes the graph, with every vector committed so far, as a checkpoint file in the library's folder. */
  checkpoint(): Promise<CheckpointRecord | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'checkpoint', id } satisfies GraphRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
