import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { analyze, queryTerms } from './lexical.js';
import type { Reranker } from './rerank.js';
import type { PaperRetriever, RetrievalResult, RetrievedPaper, RetrieveOptions } from './types.js';

/**
 * Hybrid retrieval: BM25 (the lexical index) fused with the dense HNSW search, optionally reranked by a
 * cross-encoder, with an abstention decision for questions the library cannot answer.
 */

/** What the retriever needs from the library; `PaperLibrary` provides it. */
export interface RetrievalLibrary {
  readonly size: number;
  readonly embedder: Pick<PaperEmbedder, 'kind'>;
  all(): Paper[];
  vectorSearch(query: string, k: number): Promise<RetrievedPaper[]>;
  lexicalSearch(query: string, k: number): RetrievedPaper[];
}

export interface AbstentionOptions {
  /**
   * The library answers a query when one of its best `depth` hits contains at least this share of the query's
   * content (query terms weighted by their IDF in the library). Off-topic questions share only generic words
   * ("model", "learning") with the library, which weigh little.
   */
  minCoverage: number;
  /** How many of the best hits may provide the coverage. */
  depth: number;
}

export interface HybridRetrieverOptions {
  /** Candidates taken from each side before fusion. */
  candidates: number;
  /**
   * Weight of the dense side in the fused score (lexical gets the rest), by embedder. The offline hashing
   * embedder mostly repeats what BM25 knows, so it only breaks ties and catches spelling variants; a sentence
   * encoder brings meaning BM25 lacks.
   */
  denseWeight: Readonly<Record<PaperEmbedder['kind'], number>>;
  /** `false` never abstains (benchmarks that rank every query). */
  abstention: Readonly<AbstentionOptions> | false;
  /** Reorders the best `rerankDepth` fused hits; none by default. */
  reranker?: Reranker;
  rerankDepth: number;
  logger?: Logger;
}

export const DEFAULT_ABSTENTION: Readonly<AbstentionOptions> = Object.freeze({ minCoverage: 0.5, depth: 3 });

export const DEFAULT_HYBRID_OPTIONS: Readonly<HybridRetrieverOptions> = Object.freeze({
  candidates: 100,
  denseWeight: Object.freeze({ hashing: 0.2, transformers: 0.5 }),
  abstention: DEFAULT_ABSTENTION,
  rerankDepth: 20,
});

/** Why the retriever answered or abstained, for eval and debugging. */
export interface RetrievalSignals {
  /** Best IDF-weighted share of the query found in one of the top hits, 0..1. */
  coverage: number;
  /** Query content terms after analysis; a query with none cannot be answered. */
  queryTerms: string[];
}

export interface ExplainedRetrievalResult extends RetrievalResult {
  signals: RetrievalSignals;
}

export class HybridRetriever implements PaperRetriever {
  private readonly library: RetrievalLibrary;
  private readonly options: HybridRetrieverOptions;
  private statistics: { librarySize: number; stats: TermStatistics } | undefined;

  constructor(library: RetrievalLibrary, options: Partial<HybridRetrieverOptions> = {}) {
    this.library = library;
    this.options = { ...DEFAULT_HYBRID_OPTIONS, ...options };
  }

  async retrieve(query: string, options: RetrieveOptions = {}): Promise<RetrievalResult> {
    const { hits, abstained } = await this.retrieveExplained(query, options);
    return { hits, abstained };
  }

  async retrieveExplained(query: string, options: RetrieveOptions = {}): Promise<ExplainedRetrievalResult> {
    const k = options.k ?? 5;
    const terms = queryTerms(query);
    const nothing = (coverage: number): ExplainedRetrievalResult => ({
      hits: [],
      abstained: true,
      signals: { coverage, queryTerms: terms },
    });
    if (this.library.size === 0 || k <= 0) return nothing(0);
    options.signal?.throwIfAborted();

    let fused = await this.fuse(query, Math.max(k, this.options.candidates));
    options.signal?.throwIfAborted();
    if (this.options.reranker && fused.length > 1) {
      const head = fused.slice(0, this.options.rerankDepth);
      const reranked = await this.options.reranker.rerank(query, head, { signal: options.signal });
      fused = [...reranked, ...fused.slice(head.length)];
    }

    const abstention = this.options.abstention;
    if (!abstention) return { hits: fused.slice(0, k), abstained: false, signals: { coverage: 1, queryTerms: terms } };
    if (terms.length === 0) return nothing(0);
    const coverage = this.coverage(terms, fused.slice(0, abstention.depth));
    if (coverage < abstention.minCoverage) {
      this.options.logger?.debug({ coverage: round(coverage), terms: terms.length }, 'abstained: nothing relevant in the library');
      return nothing(coverage);
    }
    return { hits: fused.slice(0, k), abstained: false, signals: { coverage, queryTerms: terms } };
  }

  /** Weighted sum of min-max-normalized lexical and dense scores over both candidate lists. */
  private async fuse(query: string, candidates: number): Promise<RetrievedPaper[]> {
    const denseWeight = this.options.denseWeight[this.library.embedder.kind];
    const lexical = this.library.lexicalSearch(query, candidates);
    const dense = denseWeight > 0 ? await this.library.vectorSearch(query, candidates) : [];
    const fused = new Map<string, RetrievedPaper>();
    const accumulate = (hits: readonly RetrievedPaper[], weight: number) => {
      for (const [index, score] of minMaxNormalize(hits.map((hit) => hit.score)).entries()) {
        const hit = hits[index]!;
        const entry = fused.get(hit.paper.id) ?? { paper: hit.paper, score: 0 };
        entry.score += weight * score;
        fused.set(hit.paper.id, entry);
      }
    };
    accumulate(lexical, 1 - denseWeight);
    accumulate(dense, denseWeight);
    return [...fused.values()].sort((left, right) => right.score - left.score);
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

  /** Document frequencies of the library, rebuilt when its size changes (papers are only ever added). */
  private termStatistics(): TermStatistics {
    if (this.statistics?.librarySize !== this.library.size) {
      this.statistics = { librarySize: this.library.size, stats: TermStatistics.of(this.library.all()) };
    }
    return this.statistics.stats;
  }
}

/**
 * Words of chat questions that say nothing about the topic ("why do … just … so the model … any fix better…").
 * Unknown to a small library, they would otherwise weigh as much as its rarest terms and pull coverage down.
 */
const FILLER_WORDS = [
  'why', 'how', 'what', 'whats', 'which', 'when', 'who', 'whose', 'does', 'do', 'did', 'done', 'can', 'could', 'should',
  'would', 'will', 'just', 'so', 'etc', 'eg', 'ie', 'don', 'dont', 'per', 'instead', 'rather', 'every', 'once', 'better',
  'best', 'good', 'bad', 'use', 'using', 'used', 'pick', 'need', 'needed', 'needs', 'thing', 'things', 'stuff', 'work',
  'works', 'working', 'get', 'gets', 'got', 'way', 'ways', 'really', 'actually', 'kind', 'sort', 'lot', 'lots', 'huge',
  'tiny', 'weird', 'cool', 'nice', 'anyone', 'anything', 'something', 'someone', 'paper', 'papers', 'work', 'know',
  'explain', 'explained', 'simply', 'tell', 'give', 'show', 'find', 'look', 'looking', 'want', 'try', 'tips', 'help',
  'make', 'makes', 'making', 'difference', 'differ', 'differences', 'compare', 'vs', 'versus', 'whole', 'own', 'one',
  'thru', 'w', 'wo', 'via', 'ok', 'okay', 'yes', 'no', 'not', 'agree', 'mean', 'means', 'idea', 'ideas',
];
const FILLER_TERMS: ReadonlySet<string> = new Set(FILLER_WORDS.flatMap((word) => queryTerms(word)));

/** A query term matches a document that has it, or (for unknown shorthand) a word it begins: `hypernet`. */
function matches(term: string, vocabulary: ReadonlySet<string>): boolean {
  if (vocabulary.has(term)) return true;
  if (term.length < 4) return false;
  for (const word of vocabulary) if (word.startsWith(term)) return true;
  return false;
}

export class TermStatistics {
  private constructor(
    private readonly documentFrequency: ReadonlyMap<string, number>,
    private readonly documents: number,
  ) {}

  static of(papers: readonly Paper[]): TermStatistics {
    const frequency = new Map<string, number>();
    for (const paper of papers) {
      for (const term of new Set(analyze(`${paper.title}\n${paper.abstract}`))) frequency.set(term, (frequency.get(term) ?? 0) + 1);
    }
    return new TermStatistics(frequency, papers.length);
  }

  /** BM25's IDF; a term no paper has gets the IDF of a term in half a paper, the rarest there is. */
  idf(term: string): number {
    const frequency = this.documentFrequency.get(term) ?? 0;
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
