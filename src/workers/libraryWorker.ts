/**
 * A library worker thread (run by piscina for `LibraryWorkerPool`): it opens its own services on the same
 * `DATA_DIR` or database as every other thread and process, and does the CPU-heavy work (embedding, retrieval,
 * extractive answers, comparisons, digests, adds) so that the bot's main thread only talks to Discord.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { isUserError } from '../errors.js';
import { PaperGraphService } from '../graph/paperGraph.js';
import { createLogger } from '../logger.js';
import type { IntakeProgress } from '../intake/paperIntake.js';
import { adoptArxivPacer } from '../papers/sources/arxivPacing.js';
import { SourceError } from '../papers/sources/http.js';
import { createServices, type Services } from '../services.js';
import {
  METRICS_CHANNEL,
  type LlmErrorReport,
  type OperationName,
  type PortMessage,
  type SerializedError,
  type WorkerOperations,
  type WorkerOutcome,
  type WorkerTask,
} from './protocol.js';

export interface LibraryWorkerData {
  config: Config;
  /** The main thread's arXiv pacing slot (`ArxivPacer`), so that the 3 s spacing holds across threads. */
  arxivPacer: SharedArrayBuffer;
}

interface TaskContext {
  signal: AbortSignal;
  onPartial?: (text: string) => void;
  onProgress?: (progress: IntakeProgress) => void;
}

type Handler<Name extends OperationName> = (
  services: Services,
  args: WorkerOperations[Name]['args'],
  context: TaskContext,
) => Promise<WorkerOperations[Name]['result']>;

/** Operations that only write need not take other processes' commits first; every read does. */
const WRITES: ReadonlySet<OperationName> = new Set(['add', 'ping']);

const OPERATIONS: { [Name in OperationName]: Handler<Name> } = {
  describe: async (services) => ({
    papers: await services.library.count(),
    embedderDescription: services.embedder.description,
    modelLabel: services.answers.modelLabel,
  }),
  ping: async (services) => (await services.library.ping(), null),
  retrieve: (services, { query, k }, { signal }) =>
    services.retriever.retrieve(query, { ...(k === undefined ? {} : { k }), signal }),
  ask: (services, { question, options }, { signal, onPartial }) =>
    services.answers.ask(question, { ...options, signal, ...(onPartial ? { onPartial } : {}) }),
  compare: (services, { names }, { signal }) => services.answers.compare(names, { signal }),
  summarize: (services, { paper }, { signal }) => services.answers.summarize(paper, { signal }),
  suggest: async (services, { query, limit }) => services.library.suggest(query, limit),
  resolve: async (services, { nameOrId }) => services.library.resolve(nameOrId),
  digest: (services, { request }, { signal }) => services.trending.digest({ ...request, signal }),
  add: (services, { papers }, { signal }) => services.library.add(papers, { signal }),
  intake: (services, { items }, { signal, onProgress }) =>
    services.intake.add(items, { signal, ...(onProgress ? { onProgress } : {}) }),
  recent: async (services, { limit }) => services.library.recent(limit),
  outline: async (services, { paperId }) => {
    const sections = services.fullText.outline(paperId);
    const source = services.fullText.source(paperId);
    return sections && source ? { source, sections } : null;
  },
  graph: (services, { paper }, { signal }) => services.graph.graph(PaperGraphService.subjectOf(paper), { signal }),
};

let opening: Promise<Services> | undefined;

function servicesOfThisThread(): Promise<Services> {
  opening ??= (async () => {
    const { config, arxivPacer } = workerData as LibraryWorkerData;
    adoptArxivPacer(arxivPacer);
    const logger = createLogger(config).child({ worker: threadId });
    // LLM failures are counted in the main thread's Prometheus registry, which serves /metrics.
    const metricsChannel = new BroadcastChannel(METRICS_CHANNEL);
    metricsChannel.unref();
    const metrics = {
      recordLlmError: (provider: string, kind: LlmErrorReport['kind']) =>
        metricsChannel.postMessage({ provider, kind } satisfies LlmErrorReport),
      setPaperCountSource: () => undefined,
    };
    const services = await createServices(config, logger, { metrics });
    // Only the bot runs library workers: each fetches, in the background, the full text of the papers its adds bring.
    services.fullText.start();
    return services;
  })();
  // A failed open (a bad DATABASE_URL) is reported to this task; the next task tries again.
  opening.catch(() => (opening = undefined));
  return opening;
}

/** piscina's entry point: one task, answered with an outcome (errors as data, so a UserError stays one). */
export default async function runTask(task: WorkerTask): Promise<WorkerOutcome> {
  const controller = new AbortController();
  const { port } = task;
  port?.on('message', (message: PortMessage) => {
    if ('abort' in message) controller.abort(new DOMException(message.abort, 'AbortError'));
  });
  try {
    const services = await servicesOfThisThread();
    if (!WRITES.has(task.op)) await services.library.refresh();
    controller.signal.throwIfAborted();
    const handler = OPERATIONS[task.op] as Handler<OperationName>;
    const streaming = task.op === 'ask' && (task.args as WorkerOperations['ask']['args']).streaming;
    const progressing = task.op === 'intake' && (task.args as WorkerOperations['intake']['args']).progress;
    const value = await handler(services, task.args, {
      signal: controller.signal,
      ...(streaming && port ? { onPartial: (text: string) => port.postMessage({ partial: text }) } : {}),
      ...(progressing && port ? { onProgress: (progress: IntakeProgress) => port.postMessage({ progress }) } : {}),
    });
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: serializeError(error, controller.signal.aborted) };
  } finally {
    port?.close();
  }
}

function serializeError(error: unknown, aborted: boolean): SerializedError {
  const base = error instanceof Error ? error : new Error(String(error));
  return {
    kind: error instanceof SourceError ? 'source' : isUserError(error) ? 'user' : 'bug',
    aborted,
    message: base.message,
    name: base.name,
    ...(base.stack ? { stack: base.stack } : {}),
    ...(isUserError(error) ? { exitCode: error.exitCode } : {}),
  };
}
