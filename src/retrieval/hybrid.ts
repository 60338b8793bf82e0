import { definedOnly } from '../util/options.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, analyze, queryTerms, withoutFillerWords } from './lexical.js';
import type { Reranker } from './rerank.js';
import type { PaperRetriever, RetrievalResult, RetrievedPaper, RetrieveOptions } from './types.js';

/**
 * Hybrid retrieval: BM25 (the lexical index) fused with the dense HNSW search, optionally reranked by a
 * cross-encoder, with an abstention decision for questions the library cannot answer.
 */

export interface ScoredId {
  id: string;
  score: number;
}

/** What the retriever needs from the library; `PaperLibrary` provides it. */
export interface RetrievalLibrary {
  readonly size: number;
  readonly embedder: Pick<PaperEmbedder, 'kind'>;
  /** Papers containing an analyzed term: the lexical index's own statistics, shared by ranking and abstention. */
  documentFrequency(term: string): number;
  /** Nearest papers by id, best first; score is cosine similarity. */
  vectorMatches(query: string, k: number): Promise<ScoredId[]>;
  /** Best BM25 matches by id, best first. */
  lexicalMatches(query: string, k: number): ScoredId[];
  /** Papers by id, in that order (unknown ids skipped): only the hits a retrieval returns are read. */
  getMany(ids: readonly string[]): Paper[];
}

/**
 * The library answers a query when either signal says so (and abstains when both say no):
 * - lexical coverage: the best `depth` hits together contain at least `minCoverage` of the query's topical words,
 *   weighted by IDF. Off-topic questions share only generic words ("model", "learning") with the library.
 * - dense similarity: the closest paper's cosine reaches `minDenseSimilarity` for the embedder in use. It rescues
 *   questions worded unlike any abstract ("plugging pictures into an llm").
 * Calibrated on the dev questions plus U01–U16 of bench/data/dev-queries-with-unanswerable.jsonl (H01–H08 held
 * out): see the Evaluation section of the README.
 */
export interface AbstentionOptions {
  minCoverage: number;
  /** By embedder: cosine scales differ between the hashing embedder and a sentence encoder. */
  minDenseSimilarity: Readonly<Record<PaperEmbedder['kind'], number>>;
  /** How many of the best hits together provide the coverage. */
  depth: number;
}

export interface HybridRetrieverOptions {
  /** Candidates taken from each side before fusion. */
  candidates: number;
  /**
   * Weight of the dense side in the fused score (lexical gets the rest), by embedder. The offline hashing
   * embedder mostly repeats what BM25 knows: on SciFact any weight above 0.05 lowers nDCG@10, on the dev questions
   * a little of it lifts Recall@5 (`npm run bench -- eval`); it only breaks ties. A sentence encoder brings meaning
   * BM25 lacks; its 0.5 is the usual convex-fusion starting point, not measured here (no model offline).
   */
  denseWeight: Readonly<Record<PaperEmbedder['kind'], number>>;
  /** `false` never abstains (benchmarks that rank every query). */
  abstention: Readonly<AbstentionOptions> | false;
  /** Reorders the best `rerankDepth` fused hits; none by default. */
  reranker?: Reranker;
  rerankDepth: number;
  logger?: Logger;
}

export const DEFAULT_ABSTENTION: Readonly<AbstentionOptions> = Object.freeze({
  minCoverage: 0.55,
  // Coverage: off-topic questions reach at most 0.49, on-topic ones the dense signal does not rescue at least 0.61.
  // Dense, hashing: off-topic at most 0.18, on-topic questions the words miss at least 0.24. Transformers: not
  // measured here (no model offline); all-MiniLM-L6-v2 puts unrelated texts mostly below 0.3.
  minDenseSimilarity: Object.freeze({ hashing: 0.21, transformers: 0.35 }),
  depth: 2,
});

export const DEFAULT_HYBRID_OPTIONS: Readonly<HybridRetrieverOptions> = Object.freeze({
  candidates: 100,
  denseWeight: Object.freeze({ hashing: 0.05, transformers: 0.5 }),
  abstention: DEFAULT_ABSTENTION,
  rerankDepth: 20,
});

/** Why the retriever answered or abstained, for eval and debugging. */
export interface RetrievalSignals {
  /** IDF-weighted share of the query's topical words found in the top hits, 0..1. */
  coverage: number;
  /** Cosine similarity of the closest paper (0 when dense search is off). */
  denseSimilarity: number;
  /** Query content terms after analysis; a query with none cannot be answered. */
  queryTerms: string[];
}

export interface ExplainedRetrievalResult extends RetrievalResult {
  signals: RetrievalSignals;
}

/**
 * Discord mentions (`@everyone`, `@here`, `<@123>`, `<@&123>`, `<#123>`) address people, not the topic. Words the
 * library has never seen weigh the most in coverage, so "@here what is MrT5?" used to be abstained on.
 */
function withoutChatMentions(query: string): string {
  const stripped = query.replace(/<(?:@[!&]?|#)\d+>|(?<![\w@])@(?:everyone|here)\b/g, ' ').replace(/\s+/g, ' ').trim();
  return stripped || query;
}

export class HybridRetriever implements PaperRetriever {
  private readonly library: RetrievalLibrary;
  private readonly options: HybridRetrieverOptions;

  constructor(library: RetrievalLibrary, options: Partial<HybridRetrieverOptions> = {}) {
    this.library = library;
    this.options = { ...DEFAULT_HYBRID_OPTIONS, ...definedOnly(options) };
  }

  async retrieve(query: string, options: RetrieveOptions = {}): Promise<RetrievalResult> {
    const { hits, abstained } = await this.retrieveExplained(query, options);
    return { hits, abstained };
  }

  async retrieveExplained(rawQuery: string, options: RetrieveOptions = {}): Promise<ExplainedRetrievalResult> {
    const query = withoutChatMentions(rawQuery);
    const k = options.k ?? 5;
    const terms = queryTerms(query);
    const nothing = (coverage: number, denseSimilarity: number): ExplainedRetrievalResult => ({
      hits: [],
      abstained: true,
      signals: { coverage, denseSimilarity, queryTerms: terms },
    });
    if (this.library.size === 0 || k <= 0) return nothing(0, 0);
    options.signal?.throwIfAborted();

    const abstentionDepth = this.options.abstention ? this.options.abstention.depth : 0;
    const needed = Math.max(k, this.options.reranker ? this.options.rerankDepth : 0, abstentionDepth);
    const { fused: ranked, denseSimilarity } = await this.fuse(query, Math.max(k, this.options.candidates), needed);
    let fused = ranked;
    options.signal?.throwIfAborted();
    if (this.options.reranker && fused.length > 1) {
      const head = fused.slice(0, this.options.rerankDepth);
      const reranked = await this.options.reranker.rerank(query, head, { signal: options.signal });
      fused = [...reranked, ...fused.slice(head.length)];
    }

    const abstention = this.options.abstention;
    if (!abstention) {
      return { hits: fused.slice(0, k), abstained: false, signals: { coverage: 1, denseSimilarity, queryTerms: terms } };
    }
    if (terms.length === 0 || fused.length === 0) return nothing(0, denseSimilarity);
    const coverage = this.coverage(terms, fused.slice(0, abstention.depth));
    const closeEnough = denseSimilarity >= abstention.minDenseSimilarity[this.library.embedder.kind];
    if (coverage < abstention.minCoverage && !closeEnough) {
      this.options.logger?.debug(
        { coverage: round(coverage), denseSimilarity: round(denseSimilarity) },
        'abstained: nothing relevant in the library',
      );
      return nothing(coverage, denseSimilarity);
    }
    return { hits: fused.slice(0, k), abstained: false, signals: { coverage, denseSimilarity, queryTerms: terms } };
  }

  /**
   * Weighted sum of min-max-normalized lexical and dense scores over both candidate lists; the best `keep` with
   * their papers (only those are read from the library).
   */
  private async fuse(query: string, candidates: number, keep: number): Promise<{ fused: RetrievedPaper[]; denseSimilarity: number }> {
    const denseWeight = this.options.denseWeight[this.library.embedder.kind];
    const lexical = this.library.lexicalMatches(query, candidates);
    // The hashing embedder weighs "why", "just", "any fix" like topic words; a sentence encoder needs them.
    const denseQuery = this.library.embedder.kind === 'hashing' ? withoutFillerWords(query) : query;
    const dense = denseWeight > 0 || this.options.abstention ? await this.library.vectorMatches(denseQuery, candidates) : [];
    const fused = new Map<string, number>();
    const accumulate = (hits: readonly ScoredId[], weight: number) => {
      for (const [index, score] of minMaxNormalize(hits.map((hit) => hit.score)).entries()) {
        const id = hits[index]!.id;
        fused.set(id, (fused.get(id) ?? 0) + weight * score);
      }
    };
    accumulate(lexical, 1 - denseWeight);
    if (denseWeight > 0) accumulate(dense, denseWeight);
    const best = [...fused].sort((left, right) => right[1] - left[1]).slice(0, keep);
    const papers = new Map(this.library.getMany(best.map(([id]) => id)).map((paper) => [paper.id, paper]));
    return {
      fused: best.flatMap(([id, score]) => {
        const paper = papers.get(id);
        return paper ? [{ paper, score }] : [];
      }),
      denseSimilarity: dense[0]?.score ?? 0,
    };
  }

  /**
   * IDF-weighted share of the query's topical terms that the top hits contain between them (a comparison names
   * two papers, each found by a different hit).
   */
  private coverage(terms: readonly string[], hits: readonly RetrievedPaper[]): number {
    const stats = this.termStatistics();
    const topical = terms.filter((term) => !FILLER_TERMS.has(term));
    const weights = topical.map((term) => stats.idf(term));
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    if (total === 0) return 0;
    const vocabulary = new Set(hits.flatMap((hit) => analyze(`${hit.paper.title}\n${hit.paper.abstract}`)));
    const covered = topical.reduce((sum, term, index) => sum + (matches(term, vocabulary) ? weights[index]! : 0), 0);
    return covered / total;
  }

  /** The library's term statistics, read from its lexical index (no copy kept here). */
  private termStatistics(): TermStatistics {
    return new TermStatistics(this.library.size, (term) => this.library.documentFrequency(term));
  }
}

/** A query term matches a document that has it, or (for unknown shorthand) a word it begins: `hypernet`. */
function matches(term: string, vocabulary: ReadonlySet<string>): boolean {
  if (vocabulary.has(term)) return true;
  if (term.length < 4) return false;
  for (const word of vocabulary) {
    if (word.startsWith(term)) return true;
    // Porter stems one word two ways (multiply → multipli, multiplication → multipl).
    if (word.length >= 5 && term.startsWith(word) && term.length - word.length <= 2) return true;
  }
  return false;
}

/** How many papers contain each analyzed term, as the lexical index counts them. */
export class TermStatistics {
  readonly documents: number;
  private readonly frequency: (term: string) => number;

  constructor(documents: number, frequency: (term: string) => number) {
    this.documents = documents;
    this.frequency = frequency;
  }

  /** BM25's IDF; a term no paper has gets the IDF of a term in half a paper, the rarest there is. */
  idf(term: string): number {
    const frequency = this.frequency(term);
    return Math.log(1 + (this.documents - frequency + 0.5) / (frequency + 0.5));
  }
}

function minMaxNormalize(scores: readonly number[]): number[] {
  if (scores.length === 0) return [];
  const top = Math.max(...scores);
  const bottom = Math.min(...scores);
  // A single candidate, or all tied: they are all as good as the best.
  if (top === bottom) return scores.map(() => 1);
  return scores.map((score) => (score - bottom) / (top - bottom));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
