import type { Config } from '../config.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import { describeError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { DEFAULT_HYBRID_OPTIONS } from '../retrieval/hybridOptions.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import { bm25Idf, bm25TermFrequencyWeight } from '../text/bm25.js';
import type { RetrievedPaper } from '../retrieval/types.js';
import { bibliographyOf } from './bibliography.js';
import { chunkDocument, type FullTextChunk } from './chunking.js';
import type { BibliographyEntry, FullTextDocument, FullTextSource } from './document.js';
import { FullTextUnavailableError, type ArxivFullTextFetcher } from './fetcher.js';
import type { FullTextStore, OutlineEntry, StoredChunk } from './store.js';

/**
 * Full text for answers: fetches (HTML, else PDF), chunks, embeds and stores a paper's body; fetches in the
 * background for papers as they arrive, and on demand within a time budget for the papers a question needs; then
 * picks the passages of the candidate papers that best match a question (the second stage of retrieval).
 */

export type FullTextStatus =
  { state: 'ready'; source: FullTextSource } | { state: 'unavailable'; reason: string } | { state: 'off' };

/** A passage given to the answer: where it is in its paper and how well it matches the question. */
export interface Passage {
  /** `4.1 Training setup`; null for the abstract or a PDF page without a heading. */
  section: string | null;
  /** `§4.1`, `p. 7`; null for the abstract. */
  label: string | null;
  page: number | null;
  text: string;
  score: number;
}

/** A paper and its passages chosen for a question, best first. */
export interface PaperPassages {
  paper: Paper;
  score: number;
  passages: Passage[];
}

export interface PassageOptions {
  /** Passages in all. */
  limit?: number;
  /** Passages from any one paper. */
  perPaper?: number;
}

export interface FullTextServiceOptions {
  config: Pick<Config, 'FULL_TEXT' | 'FULL_TEXT_TIMEOUT_MS'>;
  embedder: PaperEmbedder;
  store: FullTextStore;
  fetcher: ArxivFullTextFetcher;
  /** PDFs added locally or from Discord (kept under DATA_DIR): read before anything is fetched. */
  localPdf?: {
    has(paper: Paper): boolean;
    read(paper: Paper, signal: AbortSignal): Promise<FullTextDocument | undefined>;
  };
  logger?: Logger;
  /** Most papers waiting for a background fetch; more are dropped (they are fetched on demand when asked about). */
  queueLimit?: number;
  /** How long a failure that may pass (a timeout, a 429) keeps a paper from being tried again. */
  retryAfterMs?: number;
}

export const DEFAULT_PASSAGES = Object.freeze({ limit: 8, perPaper: 4 });
const DEFAULT_QUEUE_LIMIT = 1000;
const DEFAULT_RETRY_AFTER_MS = 30 * 60 * 1000;
/**
 * Chunks per embedding call. A model call blocks its thread until it returns, and full text is embedded in the
 * background on the threads that answer questions: a small batch lets a question's steps run between calls (4 long
 * chunks take well under a second on one core), at a small cost in throughput.
 */
const EMBED_BATCH = 4;

export const FULL_TEXT_OFF_NOTE = 'Full text is off (FULL_TEXT=off), so this answer draws on the abstract only.';

export class FullTextService {
  private readonly options: FullTextServiceOptions;
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, Promise<FullTextStatus>>();
  private readonly queue: Paper[] = [];
  private readonly queued = new Set<string>();
  private readonly closing = new AbortController();
  private worker: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private started = false;
  /** The background worker is fetching a paper. */
  private busy = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: FullTextServiceOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger();
  }

  get enabled(): boolean {
    return this.options.config.FULL_TEXT === 'on';
  }

  get timeoutMs(): number {
    return this.options.config.FULL_TEXT_TIMEOUT_MS;
  }

  outline(paperId: string): OutlineEntry[] | undefined {
    return this.options.store.outline(paperId);
  }

  source(paperId: string): FullTextSource | undefined {
    return this.options.store.get(paperId)?.source;
  }

  /** The stored document, without fetching; undefined when the paper has no full text (or full text is off). */
  document(paperId: string): FullTextDocument | undefined {
    return this.enabled ? this.options.store.get(paperId)?.document : undefined;
  }

  /** The works a stored full text cites (see `bibliographyOf`), without fetching; undefined without full text. */
  bibliography(paperId: string): BibliographyEntry[] | undefined {
    const document = this.document(paperId);
    return document ? bibliographyOf(document) : undefined;
  }

  /** What is known without fetching: ready, a recorded failure, or nothing yet (undefined). */
  known(paper: Paper): FullTextStatus | undefined {
    if (!this.enabled) return { state: 'off' };
    const stored = this.options.store.get(paper.id);
    if (stored) return { state: 'ready', source: stored.source };
    const failure = this.options.store.failure(paper.id);
    if (failure && failure.retryAt > Date.now()) return { state: 'unavailable', reason: failure.reason };
    return undefined;
  }

  /**
   * The paper's full text, fetched now if needed, waiting at most `budgetMs` (FULL_TEXT_TIMEOUT_MS by default). A
   * fetch still running when the budget ends goes on in the background and is kept for the next question.
   */
  async ensure(
    paper: Paper,
    options: { signal?: AbortSignal; budgetMs?: number; polite?: boolean } = {},
  ): Promise<FullTextStatus> {
    const known = this.known(paper);
    if (known) return known;
    if (!this.fetchable(paper)) return { state: 'unavailable', reason: 'the paper has no arXiv id and no PDF' };
    const budgetMs = options.budgetMs ?? this.timeoutMs;
    const work = this.fetchOnce(paper, options.polite ?? false);
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<FullTextStatus>((resolve) => {
      timer = setTimeout(
        () => resolve({ state: 'unavailable', reason: `not fetched within ${budgetMs} ms` }),
        budgetMs,
      );
    });
    const aborted = new Promise<never>((_, reject) => {
      if (options.signal?.aborted) reject(options.signal.reason);
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([work, budget, aborted]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Queues papers for a background fetch (papers added by /add, links, the daily feed). Never waits. */
  enqueue(papers: readonly Paper[]): void {
    if (!this.enabled) return;
    const limit = this.options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    for (const paper of papers) {
      if (this.queued.has(paper.id) || this.known(paper) || !this.fetchable(paper)) continue;
      if (this.queue.length >= limit) {
        this.logger.warn({ limit }, 'full-text queue is full; later papers are fetched when asked about');
        break;
      }
      this.queue.push(paper);
      this.queued.add(paper.id);
    }
    this.wake?.();
  }

  /** Starts the background worker (the bot does; one-shot CLI commands do not). */
  start(): void {
    if (this.started || !this.enabled) return;
    this.started = true;
    this.worker = this.runQueue();
  }

  /** Papers waiting for a background fetch. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once the background queue is empty and its last fetch has finished. */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.busy) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /**
   * The best passages of these papers for the question: BM25 over their chunks (the question's words that only
   * name a paper left out, since every part of that paper would match them) fused with the cosine of chunk and
   * question embeddings, weighted by how well each paper was retrieved. A paper without full text offers its
   * abstract. Touches only these papers' chunks.
   */
  async passages(
    question: string,
    hits: readonly RetrievedPaper[],
    options: PassageOptions = {},
  ): Promise<PaperPassages[]> {
    const { limit, perPaper } = { ...DEFAULT_PASSAGES, ...options };
    if (hits.length === 0) return [];
    const ids = hits.map((hit) => hit.paper.id);
    const stored = this.enabled ? await this.currentChunks(hits.map((hit) => hit.paper)) : [];
    const withText = new Set(stored.map((chunk) => chunk.paperId));
    const abstracts = hits.filter((hit) => !withText.has(hit.paper.id));
    const abstractVectors =
      abstracts.length > 0
        ? await this.options.embedder.embeddings.embedDocuments(abstracts.map((hit) => hit.paper.abstract))
        : [];
    const candidates: StoredChunk[] = [
      ...stored,
      ...abstracts.map((hit, index) => ({
        paperId: hit.paper.id,
        seq: 0,
        section: null,
        label: null,
        page: null,
        text: hit.paper.abstract,
        vector: Float32Array.from(abstractVectors[index]!),
      })),
    ];
    const queryVector = await this.options.embedder.embeddings.embedQuery(question);
    const lexical = bm25Scores(question, candidates, new Map(hits.map((hit) => [hit.paper.id, hit.paper.title])));
    const dense = candidates.map((chunk) => dot(queryVector, chunk.vector));
    const denseWeight = DEFAULT_HYBRID_OPTIONS.denseWeight[this.options.embedder.kind];
    const lexicalNorm = minMax(lexical);
    const denseNorm = minMax(dense);
    const best = Math.max(...hits.map((hit) => hit.score));
    const paperWeight = new Map(hits.map((hit) => [hit.paper.id, best > 0 ? Math.max(0, hit.score / best) : 1]));
    const scored = candidates.map((chunk, index) => ({
      chunk,
      score:
        ((1 - denseWeight) * lexicalNorm[index]! + denseWeight * denseNorm[index]!) *
        (0.7 + 0.3 * (paperWeight.get(chunk.paperId) ?? 0)),
    }));
    scored.sort((a, b) => b.score - a.score || a.chunk.seq - b.chunk.seq);
    const chosen = new Map<string, Passage[]>();
    let total = 0;
    for (const { chunk, score } of scored) {
      if (total >= limit) break;
      const list = chosen.get(chunk.paperId) ?? [];
      if (list.length >= perPaper) continue;
      list.push({ section: chunk.section, label: chunk.label, page: chunk.page, text: chunk.text, score });
      chosen.set(chunk.paperId, list);
      total += 1;
    }
    // Papers keep their retrieval order (their citation numbers); within one, the best passage first.
    return ids
      .map((id) => hits.find((hit) => hit.paper.id === id)!)
      .filter((hit) => chosen.has(hit.paper.id))
      .map((hit) => ({ paper: hit.paper, score: hit.score, passages: chosen.get(hit.paper.id)! }));
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.wake?.();
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    await this.worker?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private fetchable(paper: Paper): boolean {
    return Boolean(paper.arxivId) || (this.options.localPdf?.has(paper) ?? false);
  }

  /** One fetch per paper at a time, shared by every question and the background worker waiting for it. */
  private fetchOnce(paper: Paper, polite: boolean): Promise<FullTextStatus> {
    const running = this.inFlight.get(paper.id);
    if (running) return running;
    const work = this.fetchAndStore(paper, polite).finally(() => this.inFlight.delete(paper.id));
    this.inFlight.set(paper.id, work);
    return work;
  }

  private async fetchAndStore(paper: Paper, polite: boolean): Promise<FullTextStatus> {
    const signal = this.closing.signal;
    try {
      // arXiv first for a paper it knows: a kept PDF is the uploader's bytes, read only when arXiv has nothing.
      const local = this.options.localPdf?.has(paper) ? this.options.localPdf : undefined;
      let document: FullTextDocument | undefined;
      let url: string | null = null;
      if (paper.arxivId) {
        try {
          const fetched = await this.options.fetcher.fetch(paper.arxivId, {
            signal,
            polite,
            timeoutMs: this.timeoutMs,
          });
          document = fetched.document;
          url = fetched.url;
        } catch (error) {
          if (signal.aborted || !local) throw error;
          document = await this.readKeptPdf(local, paper, signal).catch(() => undefined);
          if (!document) throw error;
        }
      } else if (local) {
        document = await this.readKeptPdf(local, paper, signal);
      } else {
        // Not remembered as a failure: a PDF for it may be added later.
        return { state: 'unavailable', reason: 'the paper has no arXiv id and no PDF' };
      }
      await this.storeDocument(paper, document, url);
      if (document.truncated)
        this.logger.info({ paper: paper.id }, 'full text was longer than papercord keeps; the end was left out');
      return { state: 'ready', source: document.source };
    } catch (error) {
      if (signal.aborted) return { state: 'unavailable', reason: 'papercord is shutting down' };
      if (error instanceof FullTextUnavailableError) return this.fail(paper, error);
      this.logger.warn({ err: describeError(error), paper: paper.id }, 'full text failed');
      return this.fail(paper, new FullTextUnavailableError(describeError(error), true));
    }
  }

  /** A kept PDF that cannot be read (damaged, over a limit) will not read better later: not retried. */
  private async readKeptPdf(
    local: NonNullable<FullTextServiceOptions['localPdf']>,
    paper: Paper,
    signal: AbortSignal,
  ): Promise<FullTextDocument> {
    try {
      const document = await local.read(paper, signal);
      if (!document) throw new Error('the kept PDF is gone');
      return { ...document, source: 'local-pdf' };
    } catch (error) {
      if (signal.aborted) throw error;
      throw new FullTextUnavailableError(`the kept PDF could not be read (${describeError(error)})`, false, {
        cause: error,
      });
    }
  }

  private fail(paper: Paper, error: FullTextUnavailableError): FullTextStatus {
    const retryAt = error.retryable
      ? Date.now() + (error.retryAfterMs ?? this.options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS)
      : Number.MAX_SAFE_INTEGER;
    this.options.store.recordFailure({ paperId: paper.id, reason: error.message, retryAt });
    this.logger.info({ paper: paper.id, reason: error.message }, 'no full text; answers use the abstract');
    return { state: 'unavailable', reason: error.message };
  }

  private async storeDocument(paper: Paper, document: FullTextDocument, url: string | null): Promise<void> {
    const chunks: FullTextChunk[] = [
      { seq: 0, section: null, label: null, page: null, text: paper.abstract },
      ...chunkDocument(document).map((chunk) => ({ ...chunk, seq: chunk.seq + 1 })),
    ];
    const vectors = await this.embedChunks(paper, chunks);
    this.options.store.put(
      { paperId: paper.id, source: document.source, url, document, embedder: this.options.embedder.id },
      chunks.map((chunk, index) => ({ ...chunk, vector: vectors[index]! })),
    );
  }

  private async embedChunks(paper: Paper, chunks: readonly FullTextChunk[]): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < chunks.length; start += EMBED_BATCH) {
      const batch = chunks
        .slice(start, start + EMBED_BATCH)
        .map((chunk) => `${paper.title}${chunk.section ? ` — ${chunk.section}` : ''}\n${chunk.text}`);
      vectors.push(...(await this.options.embedder.embeddings.embedDocuments(batch)));
    }
    return vectors;
  }

  /** Stored chunks of these papers, re-embedded first for any paper chunked under another embedder. */
  private async currentChunks(papers: readonly Paper[]): Promise<StoredChunk[]> {
    const embedders = this.options.store.embeddersOf(papers.map((paper) => paper.id));
    for (const paper of papers) {
      const embedder = embedders.get(paper.id);
      if (embedder === undefined || embedder === this.options.embedder.id) continue;
      const stored = this.options.store.get(paper.id)!;
      this.logger.info({ paper: paper.id }, 'full text was embedded by another embedder; embedding it again');
      await this.storeDocument(paper, stored.document, stored.url);
    }
    return this.options.store.chunksOf(papers.map((paper) => paper.id));
  }

  private async runQueue(): Promise<void> {
    const signal = this.closing.signal;
    while (!signal.aborted) {
      const paper = this.queue.shift();
      if (!paper) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.queued.delete(paper.id);
      if (this.known(paper)) continue;
      this.busy = true;
      try {
        const status = await this.fetchOnce(paper, true);
        this.logger.debug({ paper: paper.id, status }, 'background full text');
      } finally {
        this.busy = false;
      }
    }
  }
}

function dot(a: readonly number[], b: Float32Array): number {
  let sum = 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) sum += a[index]! * b[index]!;
  return sum;
}

function minMax(values: readonly number[]): number[] {
  const low = Math.min(...values);
  const high = Math.max(...values);
  if (!(high > low)) return values.map(() => (high > 0 ? 1 : 0));
  return values.map((value) => (value - low) / (high - low));
}

/**
 * BM25 of the question over these chunks alone (statistics from the same set), the section heading counted with
 * the text. Terms of a paper's own title are left out for that paper's chunks when other terms remain: "what
 * learning rate did MrT5 use" is about a learning rate, and every chunk of MrT5 is about MrT5.
 */
function bm25Scores(question: string, chunks: readonly StoredChunk[], titles: ReadonlyMap<string, string>): number[] {
  const terms = [...new Set(queryTerms(question).filter((term) => !FILLER_TERMS.has(term)))];
  if (terms.length === 0) return chunks.map(() => 0);
  const documents = chunks.map((chunk) => stemmedTerms(`${chunk.section ?? ''} ${chunk.text}`));
  const frequency = new Map<string, number>();
  for (const tokens of documents)
    for (const term of new Set(tokens)) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  const averageLength = documents.reduce((sum, tokens) => sum + tokens.length, 0) / Math.max(1, documents.length);
  const titleTerms = new Map([...titles].map(([id, title]) => [id, new Set(stemmedTerms(title))]));
  return chunks.map((chunk, index) => {
    const tokens = documents[index]!;
    const own = titleTerms.get(chunk.paperId) ?? new Set<string>();
    const topical = terms.filter((term) => !own.has(term));
    const used = topical.length > 0 ? topical : terms;
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    let score = 0;
    for (const term of used) {
      const tf = counts.get(term) ?? 0;
      if (tf === 0) continue;
      const df = frequency.get(term) ?? 0;
      score += bm25Idf(documents.length, df) * bm25TermFrequencyWeight(tf, tokens.length, Math.max(1, averageLength));
    }
    return score;
  });
}
