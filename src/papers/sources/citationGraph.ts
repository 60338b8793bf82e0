import type { z } from 'zod';
import type { Logger } from '../../logger.js';
import { fetchWithRetry, sleep, SourceError, type FetchWithRetryOptions } from './http.js';

/**
 * A paper's place in the citation graph as a bibliographic service reports it: what it cites (references) and what
 * cites it (citations). Semantic Scholar and OpenAlex both answer in this shape; the paper's own bibliography fills
 * the references when neither can.
 */

/** A paper on the other end of a reference or a citation. */
export interface GraphPaper {
  /** The arXiv id (version-less) when the source knows one, else the source's own id (`s2:…`, `openalex:W…`, `bib:…`). */
  id: string;
  title: string;
  year?: number;
  arxivId?: string;
  /** Times cited, as the source counts them; what "most relevant" ranks by first. */
  citationCount?: number;
}

/** Where a graph came from: `s2` (Semantic Scholar), `openalex`, or `bibliography` (the paper's own full text). */
export type GraphSourceName = 's2' | 'openalex' | 'bibliography';

export interface CitationGraph {
  source: GraphSourceName;
  /** The paper as the source names it (its title may differ in case from the library's). */
  title?: string;
  references: GraphPaper[];
  citations: GraphPaper[];
  /** Totals the source reports; the lists hold at most MAX_GRAPH_NEIGHBORS of each. */
  referenceCount: number;
  citationCount: number;
}

/** A bibliographic service that knows papers by arXiv id. */
export interface CitationSource {
  readonly name: GraphSourceName;
  /** The graph around a paper, or undefined when the service does not know it (404); throws SourceError when unreachable. */
  graph(arxivId: string, signal?: AbortSignal): Promise<CitationGraph | undefined>;
}

/** References or citations kept per paper and kind: a survey cited 40,000 times is listed by its first pages only. */
export const MAX_GRAPH_NEIGHBORS = 500;

/** Per request; a source that takes longer counts as down and the next one (or the cache) answers. */
export const GRAPH_REQUEST_TIMEOUT_MS = 10_000;

export interface PacedClientOptions {
  /** Least time between two request starts of this client (the service's rate limit). */
  intervalMs: number;
  logger?: Logger;
  /** The clock the pacing waits on. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Runs one request at a time, each starting at least `intervalMs` after the previous one started. */
export class RequestPacer {
  private turn: Promise<void> = Promise.resolve();
  private lastStart = 0;
  private readonly wait: NonNullable<PacedClientOptions['sleep']>;

  constructor(
    private readonly intervalMs: number,
    wait?: PacedClientOptions['sleep'],
  ) {
    this.wait = wait ?? sleep;
  }

  run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = this.turn.then(async () => {
      const delay = this.lastStart + this.intervalMs - Date.now();
      if (this.intervalMs > 0 && delay > 0) await this.wait(delay, signal);
      this.lastStart = Date.now();
      return request();
    });
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

export interface GraphJsonRequest<T> {
  url: string;
  schema: z.ZodType<T>;
  /** How the service is named in the error when its answer is not the documented shape. */
  service: string;
  pacer: RequestPacer;
  headers?: Record<string, string>;
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger' | 'headers'>;
  logger?: Logger;
  signal?: AbortSignal;
}

/**
 * One paced GET of a graph service: the body parsed by `schema`, or undefined on 404 (the service does not know the
 * paper). Retries and timeouts as `fetchWithRetry`; an answer of another shape is a SourceError, so the next source
 * (or the cache) answers instead of a half-read graph.
 */
export async function getGraphJson<T>(request: GraphJsonRequest<T>): Promise<T | undefined> {
  const { url, schema, service, pacer, signal } = request;
  return pacer.run(async () => {
    const response = await fetchWithRetry(url, {
      timeoutMs: GRAPH_REQUEST_TIMEOUT_MS,
      attempts: 3,
      ...request.http,
      passStatuses: [404],
      headers: { accept: 'application/json', ...request.headers },
      signal,
      logger: request.logger,
    });
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new SourceError(`GET ${url}: the answer is not ${service}'s documented shape`);
    return parsed.data;
  }, signal);
}
