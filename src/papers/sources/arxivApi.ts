import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { definedOnly } from '../../util/options.js';
import type { Paper } from '../paper.js';
import { parseArxivFeed } from './arxiv.js';
import { processArxivPacer, type ArxivPacer } from './arxivPacing.js';
import { fetchWithRetry, sleep, SourceError, type FetchWithRetryOptions } from './http.js';

export interface ArxivApiOptions {
  /** `ARXIV_API_BASE`, without a trailing slash. */
  baseUrl: string;
  /** `ARXIV_REQUEST_INTERVAL_MS`: arXiv asks for 3 s between requests. */
  intervalMs?: number;
  /** Ids per `id_list` request. */
  batchSize?: number;
  logger?: Logger;
  /** Retry tuning: 429 and 503 (arXiv's "slow down") are retried with backoff, honouring Retry-After. */
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger'>;
  /** The clock the pacing waits on; tests never need it (they set intervalMs to 0). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where request starts are reserved: the whole process's by default, shared with every worker thread. */
  pacer?: ArxivPacer;
}

export const DEFAULT_ARXIV_API_OPTIONS = { intervalMs: 3_000, batchSize: 50 } as const;

export interface ArxivQuery {
  searchQuery: string;
  start: number;
  maxResults: number;
  sortBy?: 'submittedDate' | 'lastUpdatedDate' | 'relevance';
  sortOrder?: 'ascending' | 'descending';
}

export interface ArxivPage {
  papers: Paper[];
  /** `opensearch:totalResults`: how many match the query in all. */
  totalResults: number;
}

/**
 * The arXiv API (`/api/query`): papers by id, in batches, and search pages. Requests from one client are spaced by
 * `intervalMs`, as arXiv's terms of use ask, whoever makes them (a backfill and a /add at once wait their turn).
 */
export class ArxivApi {
  private readonly settings: Required<Omit<ArxivApiOptions, 'logger' | 'http' | 'sleep' | 'pacer'>> & ArxivApiOptions;
  private readonly sleep: NonNullable<ArxivApiOptions['sleep']>;
  private readonly pacer: ArxivPacer;
  private turn: Promise<void> = Promise.resolve();

  constructor(options: ArxivApiOptions) {
    this.settings = { ...DEFAULT_ARXIV_API_OPTIONS, ...definedOnly(options) };
    this.sleep = options.sleep ?? sleep;
    this.pacer = options.pacer ?? processArxivPacer();
  }

  /** Papers by arXiv id (version-less), keyed by the ids asked for; ids arXiv does not know are absent. */
  async lookup(
    ids: readonly string[],
    options: { signal?: AbortSignal; onBatch?: (done: number) => void } = {},
  ): Promise<Map<string, Paper>> {
    const found = new Map<string, Paper>();
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += this.settings.batchSize) {
      const batch = unique.slice(start, start + this.settings.batchSize);
      const query = new URLSearchParams({ id_list: batch.join(','), max_results: String(batch.length) });
      const papers = await this.fetchFeed(query, options.signal);
      for (const paper of papers) if (paper.arxivId && batch.includes(paper.arxivId)) found.set(paper.arxivId, paper);
      options.onBatch?.(Math.min(start + batch.length, unique.length));
    }
    return found;
  }

  async search(query: ArxivQuery, signal?: AbortSignal): Promise<ArxivPage> {
    const params = new URLSearchParams({
      search_query: query.searchQuery,
      start: String(query.start),
      max_results: String(query.maxResults),
      sortBy: query.sortBy ?? 'submittedDate',
      sortOrder: query.sortOrder ?? 'ascending',
    });
    let totalResults = 0;
    const papers = await this.fetchFeed(params, signal, (xml) => {
      totalResults = Number(/<opensearch:totalResults[^>]*>\s*(\d+)\s*</.exec(xml)?.[1] ?? 0);
    });
    return { papers, totalResults };
  }

  private async fetchFeed(
    params: URLSearchParams,
    signal: AbortSignal | undefined,
    inspect?: (xml: string) => void,
  ): Promise<Paper[]> {
    // The API reads `:` and `,` literally; encoded they still work, but logs and tests read better plain.
    const url = `${this.settings.baseUrl}/api/query?${params.toString().replaceAll('%3A', ':').replaceAll('%2C', ',')}`;
    const xml = await this.paced(async () => {
      const response = await fetchWithRetry(url, {
        ...this.settings.http,
        headers: { accept: 'application/atom+xml' },
        signal,
        logger: this.settings.logger,
      });
      return response.text();
    }, signal);
    inspect?.(xml);
    return parseArxivFeed(xml, url);
  }

  /** Runs `request` after the previous one, at least `intervalMs` after any arXiv request of this process started. */
  private paced<T>(request: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const run = this.turn.then(async () => {
      const wait = this.pacer.reserve(this.settings.intervalMs);
      if (wait > 0) await this.sleep(wait, signal);
      return request();
    });
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** `GET {HF_API_BASE}/api/papers/{id}`: only the fields papercord adds to an arXiv record. */
const hfPaperSchema = z.object({
  id: z.string(),
  upvotes: z.number().int().min(0).nullish(),
  ai_summary: z.string().nullish(),
  ai_keywords: z.array(z.string()).nullish(),
  githubRepo: z.string().nullish(),
  numComments: z.number().int().min(0).nullish(),
});

export type HfPaperExtras = Pick<Paper, 'upvotes' | 'aiSummary' | 'keywords' | 'githubRepo' | 'numComments'>;

/**
 * Hugging Face's page of a paper: upvotes and AI summary, a second source beside arXiv. Best effort: a paper HF
 * does not know (404), an unreachable HF or an odd body gives undefined, and the paper is added without them.
 */
export async function fetchHfPaperExtras(
  baseUrl: string,
  arxivId: string,
  options: { signal?: AbortSignal; logger?: Logger; http?: Omit<FetchWithRetryOptions, 'signal' | 'logger'> } = {},
): Promise<HfPaperExtras | undefined> {
  const url = `${baseUrl}/api/papers/${encodeURIComponent(arxivId)}`;
  try {
    const response = await fetchWithRetry(url, {
      attempts: 2,
      ...options.http,
      headers: { accept: 'application/json' },
      signal: options.signal,
      logger: options.logger,
    });
    const parsed = hfPaperSchema.safeParse(await response.json());
    if (!parsed.success) return undefined;
    const extras: HfPaperExtras = {};
    const paper = parsed.data;
    if (paper.upvotes != null) extras.upvotes = paper.upvotes;
    if (paper.ai_summary) extras.aiSummary = paper.ai_summary.replace(/\s+/g, ' ').trim();
    if (paper.ai_keywords?.length) extras.keywords = paper.ai_keywords;
    if (paper.githubRepo && /^https?:\/\/\S+$/.test(paper.githubRepo)) extras.githubRepo = paper.githubRepo;
    if (paper.numComments != null) extras.numComments = paper.numComments;
    return extras;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (!(error instanceof SourceError) && !(error instanceof SyntaxError)) throw error;
    options.logger?.debug({ arxivId, err: error.message }, 'no Hugging Face record for this paper');
    return undefined;
  }
}
