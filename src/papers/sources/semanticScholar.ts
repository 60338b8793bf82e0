import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { parseArxivReference } from '../arxivIds.js';
import {
  getGraphJson,
  MAX_GRAPH_NEIGHBORS,
  RequestPacer,
  type CitationGraph,
  type CitationSource,
  type GraphPaper,
} from './citationGraph.js';
import type { FetchWithRetryOptions } from './http.js';

export interface SemanticScholarOptions {
  /** `S2_API_BASE`, without a trailing slash. */
  baseUrl: string;
  /** `S2_API_KEY`: sent as `x-api-key`, never logged. */
  apiKey?: string;
  /** `S2_REQUEST_INTERVAL_MS`: Semantic Scholar allows about one request a second per key. */
  intervalMs: number;
  logger?: Logger;
  /** Retry tuning (tests shorten the backoff); 429 and 5xx are retried, honouring Retry-After. */
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger' | 'headers'>;
}

const externalIds = z.object({ ArXiv: z.string().nullish() }).passthrough().nullish();

const s2Paper = z.object({
  paperId: z.string().nullish(),
  externalIds,
  title: z.string().nullish(),
  year: z.number().int().nullish(),
  citationCount: z.number().int().nullish(),
  referenceCount: z.number().int().nullish(),
});

const s2ReferencePage = z.object({ data: z.array(z.object({ citedPaper: s2Paper })).nullish() });
const s2CitationPage = z.object({ data: z.array(z.object({ citingPaper: s2Paper })).nullish() });

const PAPER_FIELDS = 'title,year,externalIds,citationCount,referenceCount';
const NEIGHBOR_FIELDS = 'title,year,externalIds,citationCount';

/**
 * The Semantic Scholar Graph API: `GET {base}/graph/v1/paper/arXiv:{id}` for the paper and its counts, then
 * `…/references` and `…/citations` (one page of up to MAX_GRAPH_NEIGHBORS each). Requests are paced by `intervalMs`
 * and retried on 429 and 5xx with backoff that honours Retry-After; a 404 means Semantic Scholar does not know the paper.
 */
export class SemanticScholarClient implements CitationSource {
  readonly name = 's2' as const;
  private readonly pacer: RequestPacer;

  constructor(private readonly options: SemanticScholarOptions) {
    this.pacer = new RequestPacer(options.intervalMs);
  }

  async graph(arxivId: string, signal?: AbortSignal): Promise<CitationGraph | undefined> {
    const base = `${this.options.baseUrl}/graph/v1/paper/arXiv:${encodeURIComponent(arxivId)}`;
    const paper = await this.getJson(`${base}?fields=${PAPER_FIELDS}`, s2Paper, signal);
    if (!paper) return undefined;
    const page = `fields=${NEIGHBOR_FIELDS}&limit=${MAX_GRAPH_NEIGHBORS}`;
    const references = await this.getJson(`${base}/references?${page}`, s2ReferencePage, signal);
    const citations = await this.getJson(`${base}/citations?${page}`, s2CitationPage, signal);
    const referenceList = neighbors((references?.data ?? []).map((entry) => entry.citedPaper));
    const citationList = neighbors((citations?.data ?? []).map((entry) => entry.citingPaper));
    return {
      source: 's2',
      ...(paper.title ? { title: paper.title } : {}),
      references: referenceList,
      citations: citationList,
      referenceCount: Math.max(paper.referenceCount ?? 0, referenceList.length),
      citationCount: Math.max(paper.citationCount ?? 0, citationList.length),
    };
  }

  private getJson<T>(url: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T | undefined> {
    return getGraphJson({
      url,
      schema,
      service: 'Semantic Scholar',
      pacer: this.pacer,
      headers: this.options.apiKey ? { 'x-api-key': this.options.apiKey } : undefined,
      http: this.options.http,
      logger: this.options.logger,
      signal,
    });
  }
}

function neighbors(papers: ReadonlyArray<z.output<typeof s2Paper>>): GraphPaper[] {
  const found: GraphPaper[] = [];
  for (const paper of papers) {
    // A reference Semantic Scholar could not match to a paper has neither id nor (often) title.
    const title = paper.title?.trim();
    if (!title) continue;
    const arxivId = paper.externalIds?.ArXiv ? parseArxivReference(paper.externalIds.ArXiv) : undefined;
    const id = arxivId ?? (paper.paperId ? `s2:${paper.paperId}` : undefined);
    if (!id) continue;
    found.push({
      id,
      title,
      ...(paper.year != null ? { year: paper.year } : {}),
      ...(arxivId ? { arxivId } : {}),
      ...(paper.citationCount != null ? { citationCount: paper.citationCount } : {}),
    });
  }
  return found.slice(0, MAX_GRAPH_NEIGHBORS);
}
