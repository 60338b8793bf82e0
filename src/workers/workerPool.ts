import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BroadcastChannel, MessageChannel } from 'node:worker_threads';
import { Piscina, type PiscinaTask, type TaskQueue } from 'piscina';
import type { Answer, AskOptions } from '../answering/answerService.js';
import type { Comparison } from '../answering/comparison.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { FullTextSource } from '../fulltext/document.js';
import type { OutlineEntry } from '../fulltext/store.js';
import type { PaperGraph } from '../graph/paperGraph.js';
import type { IntakeItem, IntakeOutcome, IntakeProgress, IntakeRunOptions } from '../intake/paperIntake.js';
import type { AddResult } from '../library/library.js';
import type { Logger } from '../logger.js';
import type { PapercordMetrics } from '../ops/metrics.js';
import type { Paper } from '../papers/paper.js';
import { processArxivPacer } from '../papers/sources/arxivPacing.js';
import { SourceError } from '../papers/sources/http.js';
import type { PaperRetriever, RetrievalResult, RetrieveOptions } from '../retrieval/types.js';
import type { Digest } from '../trending/digest.js';
import type { DigestRequest } from '../trending/trendingService.js';
import type { LibraryWorkerData } from './libraryWorker.js';
import {
  METRICS_CHANNEL,
  type LibraryDescription,
  type LlmErrorReport,
  type OperationName,
  type PortMessage,
  type SerializedError,
  type WorkerOperations,
  type WorkerOutcome,
  type WorkerTask,
} from './protocol.js';

/**
 * Worker threads that hold the library and do every CPU-heavy step (embedding, retrieval, extractive answers,
 * comparisons, digests, adds), so that the bot's main thread stays free for Discord: acknowledgements, heartbeats
 * and autocomplete never wait behind another user's answer. Each thread opens its own services on the same
 * `DATA_DIR` (or database) and takes commits made elsewhere before every read.
 *
 * Quick lookups (autocomplete, paper names, /about, health) jump the queue: a burst of questions queued behind the
 * threads never delays a suggestion by more than the tasks already running.
 */

export interface LibraryWorkerPoolOptions {
  config: Config;
  logger: Logger;
  /** Worker threads (`WORKER_THREADS`), at least 1. */
  threads: number;
  /** LLM failures counted in the workers are reported here (the registry /metrics serves lives in this thread). */
  metrics?: Pick<PapercordMetrics, 'recordLlmError'>;
  /** Tasks one thread works on at once: answers waiting on an LLM leave the thread free for others. */
  tasksPerThread?: number;
}

export const DEFAULT_WORKER_POOL_OPTIONS = Object.freeze({ tasksPerThread: 4 });

/** Operations answered ahead of queued heavy work: each is one indexed lookup. */
const URGENT: ReadonlySet<OperationName> = new Set(['describe', 'ping', 'suggest', 'resolve', 'outline', 'recent']);

interface RunOptions {
  signal?: AbortSignal;
  onPartial?: (text: string) => void;
  onProgress?: (progress: IntakeProgress) => void;
}

/** A bug in a worker, logged in the main thread with the worker's stack. */
export class WorkerTaskError extends Error {
  override readonly name = 'WorkerTaskError';
}

export class LibraryWorkerPool {
  private description: LibraryDescription;
  private readonly metricsChannel: BroadcastChannel | undefined;
  private closed = false;

  private constructor(
    private readonly piscina: Piscina,
    description: LibraryDescription,
    metricsChannel: BroadcastChannel | undefined,
  ) {
    this.description = description;
    this.metricsChannel = metricsChannel;
  }

  /**
   * Starts the threads and opens the library in each; resolves once they all answer, so a library that cannot be
   * opened (a bad DATABASE_URL) fails the start with the worker's UserError, as it would in one thread.
   */
  static async open(options: LibraryWorkerPoolOptions): Promise<LibraryWorkerPool> {
    const threads = Math.max(1, Math.trunc(options.threads));
    const filename = workerEntry();
    const workerData: LibraryWorkerData = { config: options.config, arxivPacer: processArxivPacer().buffer };
    const piscina = new Piscina({
      filename,
      workerData,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: options.tasksPerThread ?? DEFAULT_WORKER_POOL_OPTIONS.tasksPerThread,
      taskQueue: new UrgentFirstQueue(),
    });
    let metricsChannel: BroadcastChannel | undefined;
    if (options.metrics) {
      const metrics = options.metrics;
      metricsChannel = new BroadcastChannel(METRICS_CHANNEL);
      metricsChannel.onmessage = (event: unknown) => {
        const report = (event as { data: LlmErrorReport }).data;
        metrics.recordLlmError(report.provider, report.kind);
      };
      metricsChannel.unref();
    }
    try {
      // One description per thread: every thread opens its library now, not on a user's first question.
      const descriptions = await Promise.all(
        Array.from({ length: threads }, () => runOn<'describe'>(piscina, 'describe', {}, {})),
      );
      options.logger.info({ threads, papers: descriptions[0]!.papers }, 'library worker threads ready');
      return new LibraryWorkerPool(piscina, descriptions[0]!, metricsChannel);
    } catch (error) {
      metricsChannel?.close();
      await piscina.destroy();
      throw error;
    }
  }

  /** Papers, embedder and model as of the last description (refreshed by `describe()`). */
  get lastDescription(): LibraryDescription {
    return this.description;
  }

  /** `extractive` or `<provider>/<model>`: fixed by the config, so known without asking. */
  get modelLabel(): string {
    return this.description.modelLabel;
  }

  async describe(): Promise<LibraryDescription> {
    this.description = await this.run('describe', {});
    return this.description;
  }

  async ping(): Promise<void> {
    await this.run('ping', {});
  }

  /** The library's retriever, run in a worker. */
  readonly retriever: PaperRetriever = {
    retrieve: (query: string, options: RetrieveOptions = {}): Promise<RetrievalResult> =>
      this.run(
        'retrieve',
        { query, ...(options.k === undefined ? {} : { k: options.k }) },
        { ...(options.signal ? { signal: options.signal } : {}) },
      ),
  };

  /** The answer service, run in a worker; partial answers stream back over the task's port. */
  readonly answers = ((owner: LibraryWorkerPool) => ({
    ask: (question: string, { signal, onPartial, ...options }: AskOptions = {}): Promise<Answer> =>
      this.run(
        'ask',
        { question, options, streaming: onPartial !== undefined },
        { ...(signal ? { signal } : {}), ...(onPartial ? { onPartial } : {}) },
      ),
    compare: (names: string[], options: { signal?: AbortSignal } = {}): Promise<Comparison> =>
      this.run('compare', { names }, options),
    summarize: (paper: Paper, options: { signal?: AbortSignal } = {}): Promise<string> =>
      this.run('summarize', { paper }, options),
    get modelLabel(): string {
      return owner.modelLabel;
    },
  }))(this);

  /** Trending digests, made in a worker (fetching, embedding for themes and adding the day's papers to the library). */
  readonly trending = {
    digest: ({ signal, ...request }: DigestRequest = {}): Promise<Digest> =>
      this.run('digest', { request }, signal ? { signal } : {}),
  };

  suggestPapers(query: string, limit: number): Promise<Paper[]> {
    return this.run('suggest', { query, limit });
  }

  resolvePaper(nameOrId: string): Promise<Paper> {
    return this.run('resolve', { nameOrId });
  }

  async paperOutline(paperId: string): Promise<{ source: FullTextSource; sections: OutlineEntry[] } | undefined> {
    return (await this.run('outline', { paperId })) ?? undefined;
  }

  /** A paper's references and citations, fetched (or read from the cache) in a worker. */
  paperGraph(paper: Paper): Promise<PaperGraph> {
    return this.run('graph', { paper });
  }

  /** Papers brought in by id, link or PDF, looked up, parsed and added in a worker. */
  addPapers(items: readonly IntakeItem[], { signal, onProgress }: IntakeRunOptions = {}): Promise<IntakeOutcome[]> {
    return this.run(
      'intake',
      { items: [...items], progress: onProgress !== undefined },
      { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) },
    );
  }

  recentPapers(limit: number): Promise<Paper[]> {
    return this.run('recent', { limit });
  }

  add(papers: Paper[], options: { signal?: AbortSignal } = {}): Promise<AddResult> {
    return this.run('add', { papers }, options);
  }

  /** Lets running tasks finish, then ends the threads. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.metricsChannel?.close();
    await this.piscina.close();
  }

  private run<Name extends OperationName>(
    op: Name,
    args: WorkerOperations[Name]['args'],
    options: RunOptions = {},
  ): Promise<WorkerOperations[Name]['result']> {
    if (this.closed) return Promise.reject(new Error('the library worker pool is closed'));
    return runOn(this.piscina, op, args, options);
  }
}

async function runOn<Name extends OperationName>(
  piscina: Piscina,
  op: Name,
  args: WorkerOperations[Name]['args'],
  options: RunOptions,
): Promise<WorkerOperations[Name]['result']> {
  const { signal, onPartial, onProgress } = options;
  signal?.throwIfAborted();
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (message: PortMessage) => {
    if ('partial' in message) onPartial?.(message.partial);
    else if ('progress' in message) onProgress?.(message.progress);
  });
  const abort = () => port1.postMessage({ abort: describeReason(signal?.reason) } satisfies PortMessage);
  signal?.addEventListener('abort', abort, { once: true });
  const task: WorkerTask<Name> & { [key: symbol]: unknown } = {
    op,
    args,
    port: port2 as unknown as WorkerTask['port'],
  };
  task[Piscina.queueOptionsSymbol] = { urgent: URGENT.has(op) };
  try {
    const outcome = (await piscina.run(task, { transferList: [port2] })) as WorkerOutcome<
      WorkerOperations[Name]['result']
    >;
    if (outcome.ok) return outcome.value;
    if (outcome.error.aborted && signal?.aborted) throw signal.reason;
    throw deserializeError(outcome.error);
  } finally {
    signal?.removeEventListener('abort', abort);
    port1.close();
  }
}

function deserializeError(error: SerializedError): Error {
  if (error.kind === 'source') return new SourceError(error.message);
  if (error.kind === 'user')
    return new UserError(error.message, error.exitCode === undefined ? {} : { exitCode: error.exitCode });
  const rebuilt = new WorkerTaskError(`${error.name}: ${error.message}`);
  if (error.stack) rebuilt.stack = `${rebuilt.name}: ${rebuilt.message}\n(in a library worker thread)\n${error.stack}`;
  return rebuilt;
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}

/** The worker module beside this one: built JavaScript, or from TypeScript sources through tsx. */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const built = path.extname(here) === '.js';
  return path.join(path.dirname(here), built ? 'libraryWorker.js' : 'libraryWorkerFromSource.mjs');
}

/** piscina's queue, with urgent tasks (lookups) ahead of everything else and FIFO within each kind. */
class UrgentFirstQueue implements TaskQueue {
  private readonly urgent: PiscinaTask[] = [];
  private readonly normal: PiscinaTask[] = [];

  get size(): number {
    return this.urgent.length + this.normal.length;
  }

  push(task: PiscinaTask): void {
    const options = (task as unknown as Record<symbol, { urgent?: boolean } | null>)[Piscina.queueOptionsSymbol];
    (options?.urgent ? this.urgent : this.normal).push(task);
  }

  shift(): PiscinaTask | null {
    return this.urgent.shift() ?? this.normal.shift() ?? null;
  }

  remove(task: PiscinaTask): void {
    for (const queue of [this.urgent, this.normal]) {
      const index = queue.indexOf(task);
      if (index >= 0) queue.splice(index, 1);
    }
  }
}
