import type { Config } from '../config.js';
import type { FullTextService } from '../fulltext/service.js';
import { PaperGraphService } from '../graph/paperGraph.js';
import { LinkChannelStore } from '../intake/linkChannels.js';
import { ReadingSessionStore } from '../answering/readingSessions.js';
import type { Logger } from '../logger.js';
import type { PapercordMetrics } from '../ops/metrics.js';
import { createServices, type Services } from '../services.js';
import type { TrendingService } from '../trending/trendingService.js';
import { LibraryWorkerPool } from '../workers/workerPool.js';
import type { PaperOutline } from './render.js';
import type { CoreServices } from './types.js';

/**
 * The bot's view of the core services, computed in the bot's own thread (the playground, `WORKER_THREADS=0`): the
 * same objects the CLI uses.
 */
export function coreServicesFrom(services: Services): CoreServices {
  return {
    retriever: services.retriever,
    answers: services.answers,
    suggestPapers: async (query, limit) => services.library.suggest(query, limit),
    resolvePaper: async (nameOrId) => services.library.resolve(nameOrId),
    describeLibrary: async () => ({
      papers: await services.library.count(),
      embedderDescription: services.embedder.description,
    }),
    paperOutline: async (paperId) => outlineOf(services.fullText, paperId),
    paperGraph: (paper) => services.graph.graph(PaperGraphService.subjectOf(paper)),
    addPapers: (items, options) => services.intake.add(items, options),
    recentPapers: async (limit) => services.library.recent(limit),
    linkChannels: services.linkChannels,
    readingSessions: services.readingSessions,
  };
}

/**
 * The bot's view of the core services, computed in library worker threads so that the bot's thread stays free. The
 * link-pickup channels, a small SQLite table, stay on this thread.
 */
export function coreServicesFromPool(
  pool: LibraryWorkerPool,
  linkChannels: LinkChannelStore,
  readingSessions: ReadingSessionStore,
): CoreServices {
  return {
    retriever: pool.retriever,
    answers: pool.answers,
    suggestPapers: (query, limit) => pool.suggestPapers(query, limit),
    resolvePaper: (nameOrId) => pool.resolvePaper(nameOrId),
    describeLibrary: () => pool.describe(),
    paperOutline: (paperId) => pool.paperOutline(paperId),
    paperGraph: (paper) => pool.paperGraph(paper),
    addPapers: (items, options) => pool.addPapers(items, options),
    recentPapers: (limit) => pool.recentPapers(limit),
    linkChannels,
    readingSessions,
  };
}

/** The stored full text's outline of a paper, as /paper shows it; undefined without one. */
export function outlineOf(
  fullText: Pick<FullTextService, 'outline' | 'source'>,
  paperId: string,
): PaperOutline | undefined {
  const sections = fullText.outline(paperId);
  const source = fullText.source(paperId);
  return sections && source ? { source, sections } : undefined;
}

/** Everything the bot process uses from the core, wherever it runs. */
export interface BotBackend {
  core: CoreServices;
  /** Makes digests for `/trending now` and the daily posts. */
  trending: Pick<TrendingService, 'digest'>;
  /** Papers in the library now (health, metrics). */
  paperCount(): Promise<number>;
  /** Resolves while the library can be read (a shared database answers); for /healthz. */
  ping(): Promise<void>;
  /** Starts background work that only the bot does (fetching full text of new papers). */
  startBackgroundWork(): void;
  close(): Promise<void>;
}

export interface BotBackendOptions {
  signal?: AbortSignal;
  metrics?: PapercordMetrics;
}

/**
 * With `WORKER_THREADS` ≥ 1 (the default) the library lives in worker threads and this thread holds none of it;
 * with 0, services are built here, as the CLI builds them.
 */
export async function openBotBackend(
  config: Config,
  logger: Logger,
  options: BotBackendOptions = {},
): Promise<BotBackend> {
  if (config.WORKER_THREADS === 0) {
    const services = await createServices(config, logger, options);
    return {
      core: coreServicesFrom(services),
      trending: services.trending,
      paperCount: async () => services.library.count(),
      ping: () => services.library.ping(),
      startBackgroundWork: () => services.fullText.start(),
      close: () => services.close(),
    };
  }
  const pool = await LibraryWorkerPool.open({
    config,
    logger,
    threads: config.WORKER_THREADS,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const linkChannels = LinkChannelStore.open({ dataDir: config.DATA_DIR });
  const readingSessions = ReadingSessionStore.open({ dataDir: config.DATA_DIR });
  options.metrics?.setPaperCountSource(async () => (await pool.describe()).papers);
  return {
    core: coreServicesFromPool(pool, linkChannels, readingSessions),
    trending: pool.trending,
    paperCount: async () => (await pool.describe()).papers,
    ping: () => pool.ping(),
    // Each worker thread started its own when it opened its services.
    startBackgroundWork: () => undefined,
    close: async () => {
      await pool.close();
      linkChannels.close();
      readingSessions.close();
    },
  };
}
