import type { PaperEmbedder } from '../embeddings/types.js';
import { inverseDocumentFrequency, type Library } from '../library/library.js';
import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, processTerm, queryTerms, tokenize, withoutFillerWords } from '../text/analysis.js';
import { definedOnly } from '../util/options.js';
import { expansionLongForms, gradeConfidence, lexicalMatch, NO_MATCH, type LexicalMatch } from './abstention.js';
import { conceptCoverage, conceptTerms, missingOutweighs, questionRuns, type ConceptCoverage } from './keyConcepts.js';
import {
  DEFAULT_ABSTENTION,
  DEFAULT_HYBRID_OPTIONS,
  type AbstentionOptions,
  type HybridRetrieverOptions,
} from './hybridOptions.js';
import {
  abbreviationCandidates,
  definedLongForms,
  expandShorthand,
  ML_SHORTHAND,
  paraphraseExpansions,
  withExpansions,
  type Expansion,
} from './queryExpansion.js';
import type { PaperRetriever, RetrievalConfidence, RetrievalResult, RetrievedPaper, RetrieveOptions } from './types.js';

/**
 * Hybrid retrieval: BM25 (the lexical index) fused with the dense HNSW search, optionally reranked by a
 * cross-encoder, with an abstention decision for questions the library cannot answer.
 */

/** What the retriever needs from the library; both library stores (`Library`) provide it. */
export type RetrievalLibrary = Pick<Library, 'vectorSearch' | 'lexicalSearch' | 'termStatistics'> &
  Partial<MatchingLibrary> & {
    readonly embedder: Pick<PaperEmbedder, 'kind'>;
  };

/**
 * Searches that return paper ids and scores, and a read of the papers by id (the local `PaperLibrary`): the
 * retriever then fuses ids and reads only the papers it grades or returns, not every candidate of both lists.
 */
export interface MatchingLibrary {
  lexicalMatches(query: string, k: number): PaperMatch[] | Promise<PaperMatch[]>;
  vectorMatches(query: string, k: number): Promise<PaperMatch[]>;
  /** The papers with these ids, in that order; ids not in the library are skipped. */
  getMany(ids: readonly string[]): Paper[] | Promise<Paper[]>;
}

export interface PaperMatch {
  id: string;
  score: number;
}

function canMatch(library: RetrievalLibrary): library is RetrievalLibrary & MatchingLibrary {
  return (
    typeof library.lexicalMatches === 'function' &&
    typeof library.vectorMatches === 'function' &&
    typeof library.getMany === 'function'
  );
}

/** Pseudo-relevance feedback: words taken from this many of the best hits. */
const FEEDBACK_DOCUMENTS = 3;
const FEEDBACK_WORDS = 8;

/** Nearest papers of a key concept read when a sentence encoder checks its coverage in meaning. */
const NEAREST_TO_A_CONCEPT = 10;

/** Papers of a first pass whose abstracts are read for abbreviation definitions. */
const DEFINITION_DEPTH = 10;

/** Why the retriever answered or abstained, for eval and debugging. */
export interface RetrievalSignals {
  /** IDF-weighted share of the query's topical words found in the top hits, 0..1. */
  coverage: number;
  /** The best hit's matched topical words, in rare-word units (see AbstentionOptions.minEvidence). */
  evidence: number;
  /** Question terms that name one of the best hits (AbstentionOptions.maxNameShare). */
  names: readonly string[];
  /** Cosine similarity of the closest paper (0 when dense search is off). */
  denseSimilarity: number;
  /** Query content terms after analysis; a query with none cannot be answered. */
  queryTerms: string[];
  /** Expansions appended to the query, e.g. `dpo → direct preference optimization`. */
  expansions: string[];
  /** The question's key concepts and whether the best hits cover them (keyConcepts.ts). */
  concepts: ConceptCoverage[];
}

export interface ExplainedRetrievalResult extends RetrievalResult {
  signals: RetrievalSignals;
}

/**
 * Discord mentions (`@everyone`, `@here`, `<@123>`, `<@&123>`, `<#123>`) address people, not the topic. Words the
 * library has never seen weigh the most in coverage, so "@here what is MrT5?" used to be abstained on.
 */
function withoutChatMentions(query: string): string {
  const stripped = query
    .replace(/<(?:@[!&]?|#)\d+>|(?<![\w@])@(?:everyone|here)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
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
    const { hits, confidence, abstained, missing } = await this.retrieveExplained(query, options);
    return { hits, confidence, abstained, missing };
  }

  async retrieveExplained(rawQuery: string, options: RetrieveOptions = {}): Promise<ExplainedRetrievalResult> {
    const query = withoutChatMentions(rawQuery);
    const k = options.k ?? 5;
    const terms = queryTerms(query);
    const nothing = (signals: RetrievalSignals): ExplainedRetrievalResult => ({
      hits: [],
      confidence: 'none',
      abstained: true,
      signals,
    });
    if (k <= 0) return nothing({ ...NO_MATCH, denseSimilarity: 0, queryTerms: terms, expansions: [], concepts: [] });
    options.signal?.throwIfAborted();

    // Even a benchmark that never abstains grades its first pass, to know whether expanding is worth it.
    const grading = this.options.abstention || DEFAULT_ABSTENTION;
    const candidates = Math.max(k, this.options.candidates);
    // The fused hits anything below reads: the k returned, those graded, mined for definitions and feedback, reranked.
    const kept = Math.max(
      k,
      grading.depth,
      DEFINITION_DEPTH,
      FEEDBACK_DOCUMENTS,
      this.options.reranker ? this.options.rerankDepth : 0,
    );
    const expansion = this.options.expansion;
    // Paraphrases are whole phrases ("teacher forcing", "early exit"), specific enough to add on every query.
    const firstExpansions =
      expansion.when === 'always' && expansion.shorthand
        ? expandShorthand(query).expansions
        : expansion.paraphrases
          ? paraphraseExpansions(query)
          : [];
    let pass = await this.search(query, terms, firstExpansions, candidates, kept, grading);
    if (pass.confidence === 'none' && firstExpansions.length > 0) {
      // Appended words shift the query's embedding; they must not make a question less answerable than its own words.
      const plain = await this.search(query, terms, [], candidates, kept, grading);
      if (plain.confidence !== 'none') pass = plain;
    }
    if (expansion.when === 'always' ? expansion.definitions : pass.confidence !== 'high') {
      const expansions = [
        ...pass.expansions,
        ...(expansion.shorthand && expansion.when === 'weak' ? expandShorthand(query).expansions : []),
        ...(expansion.definitions ? this.definitionsFor(query, pass.fused.slice(0, DEFINITION_DEPTH)) : []),
      ];
      if (expansions.length > pass.expansions.length) {
        const expanded = await this.search(query, terms, expansions, candidates, kept, grading);
        // The expanded pass wins only when it is surer than the first (on SciFact, a tie kept expanded costs nDCG).
        if (CONFIDENCE_RANK[expanded.confidence] > CONFIDENCE_RANK[pass.confidence]) pass = expanded;
      }
    }
    options.signal?.throwIfAborted();
    // An empty library finds nothing, whether or not abstention is on.
    if (pass.fused.length === 0)
      return nothing({
        ...NO_MATCH,
        denseSimilarity: pass.denseSimilarity,
        queryTerms: terms,
        expansions: [],
        concepts: [],
      });
    let fused = pass.fused;
    if (expansion.feedback && pass.confidence === 'low') {
      // Pseudo-relevance feedback reorders only: the grade stays the one the question's own words earned.
      const feedback = await this.feedbackWords(terms, fused.slice(0, FEEDBACK_DOCUMENTS));
      if (feedback.length > 0)
        fused = (await this.fuse(`${withExpansions(query, pass.expansions)}\n${feedback.join(' ')}`, candidates, kept))
          .fused;
    }
    if (this.options.reranker && fused.length > 1) {
      const head = fused.slice(0, this.options.rerankDepth);
      const reranked = await this.options.reranker.rerank(query, head, { signal: options.signal });
      fused = [...reranked, ...fused.slice(head.length)];
    }

    const concepts = this.options.abstention
      ? await this.conceptsCovered(query, pass.expansions, fused.slice(0, grading.conceptDepth), options)
      : [];
    const missing = concepts.filter((concept) => concept.state !== 'covered').map((concept) => concept.name);
    if (missing.length > 0 && !(await this.missingOutweighs(query, missing, fused[0]))) missing.length = 0;
    const signals: RetrievalSignals = {
      ...pass.match,
      denseSimilarity: pass.denseSimilarity,
      queryTerms: terms,
      expansions: pass.expansions.map(describeExpansion),
      concepts,
    };
    if (!this.options.abstention)
      return { hits: fused.slice(0, k), confidence: 'high', abstained: false, missing: [], signals };
    if (pass.confidence === 'none') {
      this.options.logger?.debug(
        {
          coverage: round(signals.coverage),
          evidence: round(signals.evidence),
          denseSimilarity: round(signals.denseSimilarity),
        },
        'abstained: nothing relevant in the library',
      );
      return { ...nothing(signals), missing };
    }
    // The words match, but not what the question is about: the closest papers, said to be only that.
    const confidence = missing.length > 0 && pass.confidence === 'high' ? 'low' : pass.confidence;
    return { hits: fused.slice(0, k), confidence, abstained: false, missing, signals };
  }

  /**
   * The question's key concepts and whether the evidence covers them. With a sentence encoder, a concept whose
   * words no evidence paper has is still covered when one of them is among its nearest papers, at least as close
   * as a match must be (a paraphrase); the hashing embedder only repeats the words, so it never decides this.
   */
  private async conceptsCovered(
    query: string,
    expansions: readonly Expansion[],
    evidence: readonly RetrievedPaper[],
    options: RetrieveOptions,
  ): Promise<ConceptCoverage[]> {
    const runs = questionRuns(query);
    if (runs.length === 0 || evidence.length === 0) return [];
    const statistics = await this.library.termStatistics(conceptTerms(runs));
    const coverage = conceptCoverage(runs, evidence, statistics, expansionLongForms(expansions), this.grading());
    const library = this.library;
    if (library.embedder.kind === 'hashing' || !canMatch(library)) return coverage;
    const minDense = this.grading().minDenseSimilarity[library.embedder.kind];
    const ids = new Set(evidence.map((hit) => hit.paper.id));
    return Promise.all(
      coverage.map(async (concept) => {
        if (concept.state !== 'absent') return concept;
        options.signal?.throwIfAborted();
        const nearest = await library.vectorMatches(concept.name, NEAREST_TO_A_CONCEPT);
        const near = nearest.some((match) => ids.has(match.id) && match.score >= minDense);
        return near ? { ...concept, state: 'covered' as const } : concept;
      }),
    );
  }

  /** Missing concepts count only when they weigh as much as what the best hit specifically shares with the question. */
  private async missingOutweighs(
    query: string,
    missing: readonly string[],
    best: RetrievedPaper | undefined,
  ): Promise<boolean> {
    const runs = questionRuns(query);
    const statistics = await this.library.termStatistics(conceptTerms(runs));
    return missingOutweighs(runs, missing, best, statistics, this.grading().missingWeight);
  }

  private grading(): Readonly<AbstentionOptions> {
    return this.options.abstention || DEFAULT_ABSTENTION;
  }

  /** The best hits' most telling words the query lacks (RM3-style: frequent in them, rare in the library). */
  private async feedbackWords(terms: readonly string[], hits: readonly RetrievedPaper[]): Promise<string[]> {
    const asked = new Set(terms);
    const occurrences = hits.flatMap((hit, rank) =>
      tokenize(`${hit.paper.title}\n${hit.paper.abstract}`).flatMap((word) => {
        const term = processTerm(word);
        if (!term || asked.has(term) || FILLER_TERMS.has(term) || /^\d+$/.test(term)) return [];
        return [{ term, word, rank }];
      }),
    );
    const statistics = await this.library.termStatistics([
      ...new Set(occurrences.map((occurrence) => occurrence.term)),
    ]);
    const weights = new Map<string, { weight: number; word: string }>();
    for (const { term, word, rank } of occurrences) {
      const entry = weights.get(term) ?? { weight: 0, word };
      entry.weight += inverseDocumentFrequency(statistics, term) / (rank + 1);
      weights.set(term, entry);
    }
    return [...weights.values()]
      .sort((left, right) => right.weight - left.weight)
      .slice(0, FEEDBACK_WORDS)
      .map((entry) => entry.word);
  }

  /** One retrieval pass of the query with the given expansions appended, graded. */
  private async search(
    query: string,
    terms: readonly string[],
    expansions: Expansion[],
    candidates: number,
    kept: number,
    grading: Readonly<AbstentionOptions>,
  ): Promise<SearchPass> {
    const { fused, denseSimilarity } = await this.fuse(withExpansions(query, expansions), candidates, kept);
    if (terms.length === 0 || fused.length === 0)
      return { fused, denseSimilarity, expansions, match: NO_MATCH, confidence: 'none' };
    // From the library's own lexical index (the one that ranks): one source of term statistics.
    const statistics = await this.library.termStatistics(terms.filter((term) => !FILLER_TERMS.has(term)));
    const match = lexicalMatch(terms, expansions, fused.slice(0, grading.depth), statistics, grading);
    const confidence = gradeConfidence({ ...match, denseSimilarity }, grading, this.library.embedder.kind);
    return { fused, denseSimilarity, expansions, match, confidence };
  }

  /** Abbreviations of the query that the first hits define and the query does not already spell out. */
  private definitionsFor(query: string, hits: readonly RetrievedPaper[]): Expansion[] {
    const candidates = abbreviationCandidates(query).filter((word) => !(word in ML_SHORTHAND));
    const longForms = definedLongForms(
      candidates,
      hits.map((hit) => hit.paper),
    );
    const asked = new Set(queryTerms(query));
    return [...longForms]
      .filter(([, long]) => queryTerms(long).some((term) => !asked.has(term)))
      .map(([short, long]) => ({ short, long }));
  }

  /**
   * Weighted sum of min-max-normalized lexical and dense scores over both candidate lists, best first. A library
   * that searches by id gives at least the best `kept` (only their papers are read); another gives them all.
   */
  private async fuse(
    query: string,
    candidates: number,
    kept: number,
  ): Promise<{ fused: RetrievedPaper[]; denseSimilarity: number }> {
    const library = this.library;
    const denseWeight = this.options.denseWeight[library.embedder.kind];
    // The hashing embedder weighs "why", "just", "any fix" like topic words; a sentence encoder needs them.
    const denseQuery = library.embedder.kind === 'hashing' ? withoutFillerWords(query) : query;
    const searchDense = denseWeight > 0 || this.options.abstention;
    if (canMatch(library)) {
      const lexical = await library.lexicalMatches(query, candidates);
      const dense = searchDense ? await library.vectorMatches(denseQuery, candidates) : [];
      const scores = new Map<string, number>();
      accumulate(lexical, 1 - denseWeight, (match) => match.id, scores);
      if (denseWeight > 0) accumulate(dense, denseWeight, (match) => match.id, scores);
      const best = [...scores].sort((left, right) => right[1] - left[1]).slice(0, kept);
      const papers = new Map((await library.getMany(best.map(([id]) => id))).map((paper) => [paper.id, paper]));
      return {
        fused: best.flatMap(([id, score]) => {
          const paper = papers.get(id);
          return paper ? [{ paper, score }] : [];
        }),
        denseSimilarity: dense[0]?.score ?? 0,
      };
    }
    const lexical = await library.lexicalSearch(query, candidates);
    const dense = searchDense ? await library.vectorSearch(denseQuery, candidates) : [];
    const scores = new Map<string, number>();
    const papers = new Map<string, Paper>();
    for (const hit of [...lexical, ...dense]) papers.set(hit.paper.id, hit.paper);
    accumulate(lexical, 1 - denseWeight, (hit) => hit.paper.id, scores);
    if (denseWeight > 0) accumulate(dense, denseWeight, (hit) => hit.paper.id, scores);
    return {
      fused: [...scores]
        .sort((left, right) => right[1] - left[1])
        .map(([id, score]) => ({ paper: papers.get(id)!, score })),
      denseSimilarity: dense[0]?.score ?? 0,
    };
  }
}

/** Adds each hit's min-max-normalized score, times `weight`, to its paper's fused score (first seen, first kept in ties). */
function accumulate<Hit extends { score: number }>(
  hits: readonly Hit[],
  weight: number,
  idOf: (hit: Hit) => string,
  scores: Map<string, number>,
): void {
  for (const [index, score] of minMaxNormalize(hits.map((hit) => hit.score)).entries()) {
    const id = idOf(hits[index]!);
    scores.set(id, (scores.get(id) ?? 0) + weight * score);
  }
}

interface SearchPass {
  fused: RetrievedPaper[];
  denseSimilarity: number;
  expansions: Expansion[];
  match: LexicalMatch;
  confidence: RetrievalConfidence;
}

const CONFIDENCE_RANK: Readonly<Record<RetrievalConfidence, number>> = Object.freeze({ none: 0, low: 1, high: 2 });

function describeExpansion({ short, long }: Expansion): string {
  return `${short} → ${long}`;
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
