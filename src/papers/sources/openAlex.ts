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

export interface OpenAlexOptions {
  /** `OPENALEX_API_BASE`, without a trailing slash. */
  baseUrl: string;
  /** OpenAlex allows 10 requests a second; papercord makes three per paper. */
  intervalMs?: number;
  logger?: Logger;
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger' | 'headers'>;
}

const openAlexWork = z.object({
  id: z.string(),
  doi: z.string().nullish(),
  title: z.string().nullish(),
  display_name: z.string().nullish(),
  publication_year: z.number().int().nullish(),
  cited_by_count: z.number().int().nullish(),
  referenced_works_count: z.number().int().nullish(),
  ids: z.object({ doi: z.string().nullish(), arxiv: z.string().nullish() }).passthrough().nullish(),
});

const openAlexList = z.object({
  meta: z.object({ count: z.number().int().nullish() }).passthrough().nullish(),
  results: z.array(openAlexWork),
});

const SELECT = 'id,doi,title,display_name,publication_year,cited_by_count,referenced_works_count,ids';

/**
 * OpenAlex, the fallback graph: the work is found by its arXiv DOI (`GET {base}/works/doi:10.48550/arXiv.{id}`),
 * its references by `filter=cited_by:W…` and its citations by `filter=cites:W…` (one page each). A 404 means
 * OpenAlex does not know the paper.
 */
export class OpenAlexClient implements CitationSource {
  readonly name = 'openalex' as const;
  private readonly pacer: RequestPacer;

  constructor(private readonly options: OpenAlexOptions) {
    this.pacer = new RequestPacer(options.intervalMs ?? 100);
  }

  async graph(arxivId: string, signal?: AbortSignal): Promise<CitationGraph | undefined> {
    const base = this.options.baseUrl;
    const work = await this.getJson(
      `${base}/works/doi:10.48550/arXiv.${encodeURIComponent(arxivId)}?select=${SELECT}`,
      openAlexWork,
      signal,
    );
    if (!work) return undefined;
    const workId = shortId(work.id);
    const list = (filter: string) =>
      this.getJson(
        `${base}/works?filter=${filter}:${workId}&per-page=${Math.min(200, MAX_GRAPH_NEIGHBORS)}&sort=cited_by_count:desc&select=${SELECT}`,
        openAlexList,
        signal,
      );
    const references = await list('cited_by');
    const citations = await list('cites');
    const referenceList = neighbors(references?.results ?? []);
    const citationList = neighbors(citations?.results ?? []);
    const title = work.title ?? work.display_name;
    return {
      source: 'openalex',
      ...(title ? { title } : {}),
      references: referenceList,
      citations: citationList,
      referenceCount: Math.max(work.referenced_works_count ?? 0, references?.meta?.count ?? 0, referenceList.length),
      citationCount: Math.max(work.cited_by_count ?? 0, citations?.meta?.count ?? 0, citationList.length),
    };
  }

  private getJson<T>(url: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T | undefined> {
    return getGraphJson({
      url,
      schema,
      service: 'OpenAlex',
      pacer: this.pacer,
      http: this.options.http,
      logger: this.options.logger,
      signal,
    });
  }
}

/** `https://openalex.org/W2741809807` → `W2741809807`. */
function shortId(id: string): string {
  return id.replace(/^https?:\/\/openalex\.org\//i, '');
}

function neighbors(works: ReadonlyArray<z.output<typeof openAlexWork>>): GraphPaper[] {
  const found: GraphPaper[] = [];
  for (const work of works) {
    const title = (work.title ?? work.display_name)?.trim();
    if (!title) continue;
    const doi = work.ids?.doi ?? work.doi;
    const arxivId =
      (work.ids?.arxiv ? parseArxivReference(work.ids.arxiv) : undefined) ??
      (doi ? parseArxivReference(doi) : undefined);
    found.push({
      id: arxivId ?? `openalex:${shortId(work.id)}`,
      title,
      ...(work.publication_year != null ? { year: work.publication_year } : {}),
      ...(arxivId ? { arxivId } : {}),
      ...(work.cited_by_count != null ? { citationCount: work.cited_by_count } : {}),
    });
  }
  return found.slice(0, MAX_GRAPH_NEIGHBORS);
}
