import { AnswerService } from './answering/answerService.js';
import { createChatBackend } from './answering/llm.js';
import type { Config } from './config.js';
import type { PaperEmbedder } from './embeddings/types.js';
import type { Logger } from './logger.js';
import { ArxivFullTextFetcher } from './fulltext/fetcher.js';
import { localPdfs, pdfBytesToDocument } from './fulltext/pdfDocument.js';
import { FullTextService } from './fulltext/service.js';
import { FullTextStore } from './fulltext/store.js';
import type { Library } from './library/library.js';
import { FeedMatching, withAddEvents } from './feed/addEvents.js';
import { IndexedFollowMatcher } from './feed/matcher.js';
import { LinearFeedRanker } from './feed/ranker.js';
import { FeedStore } from './feed/store.js';
import { paperNamedIn } from './library/lookup.js';
import { llmErrorCallbacks, type PapercordMetrics } from './ops/metrics.js';
import type { PaperRetriever } from './retrieval/types.js';
import { createTrendingService, type TrendingService } from './trending/trendingService.js';
import { PaperIntake } from './intake/paperIntake.js';
import { LinkChannelStore } from './intake/linkChannels.js';
import { ReadingSessionStore } from './answering/readingSessions.js';
import { ArxivApi } from './papers/sources/arxivApi.js';
import { OpenAlexClient } from './papers/sources/openAlex.js';
import { SemanticScholarClient } from './papers/sources/semanticScholar.js';
import { PaperGraphService } from './graph/paperGraph.js';
import { PostgresGraphCache } from './graph/postgresStore.js';
import { SqliteGraphCache, type GraphCache } from './graph/store.js';
import { pdfLimitsFromConfig, SandboxedPdfReader } from './papers/pdfSandbox.js';
import { createSearchServices, type CreateSearchServicesOptions, type SearchServices } from './searchServices.js';

/**
 * Everything the front ends (Discord bot, CLI) use, built once from the config in dependency order.
 * Front ends receive this object; nothing below it reads the environment.
 */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly embedder: PaperEmbedder;
  /** The local library under DATA_DIR, or the one in PostgreSQL with VECTOR_STORE=pgvector. */
  readonly library: Library;
  /** Finds papers for a query: what answers, /search and /similar use. */
  readonly retriever: PaperRetriever;
  /** Papers' full text (arXiv HTML, else PDF): fetched in the background or on demand, chunked and searched. */
  readonly fullText: FullTextService;
  /** Cited answers, comparisons and TL;DRs, with the configured LLM or extractively. */
  readonly answers: AnswerService;
  /** Trending digests from Hugging Face, arXiv or the seeds; fetched papers are added to the library. */
  readonly trending: TrendingService;
  /** The arXiv API client, paced by ARXIV_REQUEST_INTERVAL_MS for everything in this process (lookups, backfill). */
  readonly arxiv: ArxivApi;
  /** Papers brought in by id, link or PDF (`papercord add`, `/add`, link pickup). */
  readonly intake: PaperIntake;
  /** Channels where posted paper links are added (`/library links on`), in `<DATA_DIR>/papercord.sqlite`. */
  readonly linkChannels: LinkChannelStore;
  /** Threads opened by `/read` and the papers each is about, in `<DATA_DIR>/papercord.sqlite`. */
  readonly readingSessions: ReadingSessionStore;
  /** References and citations (Semantic Scholar, else OpenAlex, plus the paper's bibliography), cached under DATA_DIR. */
  readonly graph: PaperGraphService;
  /** Matching of newly added papers against the members' follows; `drain()` waits for adds made so far. */
  readonly feedMatching: Pick<FeedMatching, 'drain'>;
  /** Releases everything, in reverse order of creation. Safe to call twice. */
  close(): Promise<void>;
}

export interface CreateServicesOptions extends CreateSearchServicesOptions {
  /** Search services already built (the CLI builds them first for `search`); they are then closed with the rest. */
  search?: SearchServices;
  /** The bot's Prometheus metrics: LLM failures and the library size are reported into them. */
  metrics?: Pick<PapercordMetrics, 'recordLlmError' | 'setPaperCountSource'>;
}

export async function createServices(
  config: Config,
  logger: Logger,
  options: CreateServicesOptions = {},
): Promise<Services> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    while (closers.length > 0) await closers.pop()!();
  };
  try {
    const search = options.search ?? (await createSearchServices(config, logger, options));
    closers.push(() => search.close());
    const { embedder, retriever } = search;
    // Every add, whichever path makes it, is matched against the members' follows (issue 24): the library every
    // service and command holds reports what it newly stored, and the matches are recorded for delivery.
    const feedStore = FeedStore.open({ dataDir: config.DATA_DIR });
    closers.push(async () => feedStore.close());
    const feedMatching = new FeedMatching(
      feedStore,
      new IndexedFollowMatcher({ library: search.library, embedder, retriever }),
      logger,
      // Members' 👍/👎 reorder their new matches, and leave out what they strongly disliked.
      new LinearFeedRanker({ library: search.library, embedder }),
    );
    closers.push(() => feedMatching.drain());
    const library = withAddEvents(search.library, (added) => feedMatching.enqueue(added));
    options.metrics?.setPaperCountSource(() => library.count());
    const backend = createChatBackend(config);
    if (backend && options.metrics) backend.model.callbacks = [llmErrorCallbacks(options.metrics, config.LLM_PROVIDER)];
    // Every PDF (uploads, kept files, arXiv's) is read in a child process with limits, never on this thread.
    const pdfReader = new SandboxedPdfReader(pdfLimitsFromConfig(config));
    closers.push(async () => pdfReader.close());
    const fullTextStore = FullTextStore.open(config.DATA_DIR);
    closers.push(async () => fullTextStore.close());
    const fullText = new FullTextService({
      config,
      embedder,
      store: fullTextStore,
      fetcher: new ArxivFullTextFetcher({
        htmlBase: config.ARXIV_HTML_BASE,
        pdfBase: config.ARXIV_PDF_BASE,
        readPdf: pdfBytesToDocument(pdfReader),
        // One spacing for every arXiv request of the process (API and full text), as arXiv asks.
        spacingMs: config.ARXIV_REQUEST_INTERVAL_MS,
        logger,
      }),
      localPdf: localPdfs(config.DATA_DIR, pdfReader),
      logger,
    });
    closers.push(() => fullText.close());
    /** The library as the feeds and intake see it: what they add is queued for a background full-text fetch. */
    const queueingFullText: Pick<Library, 'add' | 'get' | 'getByTitle'> = {
      add: async (papers, addOptions) => {
        const result = await library.add(papers, addOptions);
        fullText.enqueue(result.stored);
        return result;
      },
      get: (id) => library.get(id),
      getByTitle: (title) => library.getByTitle(title),
    };
    const answers = new AnswerService({
      retriever,
      resolvePaper: (nameOrId) => library.resolve(nameOrId),
      config,
      logger,
      backend,
      fullText,
      namedPaper: (question) => paperNamedIn(library, question),
    });
    closers.push(() => answers.close());
    const trending = createTrendingService(config, logger, {
      embedder,
      // Papers of the daily feed get their full text fetched in the background (once the bot starts the queue).
      library: queueingFullText,
      summarize: (paper, summarizeOptions) => answers.summarize(paper, summarizeOptions),
    });
    const arxiv = new ArxivApi({
      baseUrl: config.ARXIV_API_BASE,
      intervalMs: config.ARXIV_REQUEST_INTERVAL_MS,
      logger,
    });
    // Papers added by /add, links and PDFs get their full text in the background too (the bot runs the queue).
    const intake = new PaperIntake({
      library: queueingFullText,
      arxiv,
      hfBaseUrl: config.HF_API_BASE,
      dataDir: config.DATA_DIR,
      pdfReader,
      logger,
      pdfStoreMaxMb: config.PDF_STORE_MAX_MB,
    });
    const linkChannels = LinkChannelStore.open({ dataDir: config.DATA_DIR });
    closers.push(async () => linkChannels.close());
    const readingSessions = ReadingSessionStore.open({ dataDir: config.DATA_DIR });
    closers.push(async () => readingSessions.close());
    const graphCache: GraphCache =
      config.VECTOR_STORE === 'pgvector' && config.DATABASE_URL
        ? await PostgresGraphCache.open(config.DATABASE_URL)
        : SqliteGraphCache.open(config.DATA_DIR);
    const graph = createPaperGraph(config, logger, library, fullText, graphCache);
    closers.push(() => graph.close());
    return {
      config,
      logger,
      embedder,
      library,
      retriever,
      fullText,
      answers,
      trending,
      arxiv,
      intake,
      linkChannels,
      readingSessions,
      graph,
      feedMatching,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The paper graph over this process's library and full text, cached in `DATA_DIR/graph.sqlite` or PostgreSQL. */
function createPaperGraph(
  config: Config,
  logger: Logger,
  library: Library,
  fullText: FullTextService,
  cache: GraphCache,
): PaperGraphService {
  return new PaperGraphService({
    sources: [
      new SemanticScholarClient({
        baseUrl: config.S2_API_BASE,
        intervalMs: config.S2_REQUEST_INTERVAL_MS,
        logger,
        ...(config.S2_API_KEY ? { apiKey: config.S2_API_KEY } : {}),
      }),
      new OpenAlexClient({ baseUrl: config.OPENALEX_API_BASE, logger }),
    ],
    cache,
    library,
    bibliography: (paperId) => fullText.bibliography(paperId),
    refreshMs: config.GRAPH_REFRESH_HOURS * 3_600_000,
    logger,
  });
}
