import { definedOnly } from '../util/options.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import { inverseDocumentFrequency, type Library, type TermStatistics } from '../library/library.js';
import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, processTerm, queryTerms, stemmedTerms, tokenize, withoutFillerWords } from '../text/analysis.js';
import {
  abbreviationCandidates,
  definedLongForms,
  expandShorthand,
  ML_SHORTHAND,
  paraphraseExpansions,
  withExpansions,
  type Expansion,
} from './queryExpansion.js';
import { paperNameTerms } from './paperNames.js';
import type { Reranker } from './rerank.js';
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

/**
 * Confidence from three signals (see gradeConfidence). `high` when the words or the closest paper say the library
 * answers the query; `none` (abstain) when both are below their floors; `low` in between: the hits are only the
 * closest papers, and the user is told so.
 * - lexical coverage: the best `depth` hits together contain this share of the query's topical words, weighted by
 *   IDF. Off-topic questions share only generic words ("model", "learning") with the library.
 * - dense similarity: the closest paper's cosine for the embedder in use. It rescues questions worded unlike any
 *   abstract ("plugging pictures into an llm").
 * Calibrated on the dev questions plus U01–U16 of bench/data/dev-queries-with-unanswerable.jsonl and the tune split
 * of bench/data/loose-questions.jsonl: see the Retrieval section of the README (`papercord eval --calibrate`).
 */
export interface AbstentionOptions {
  /** Coverage at which the hits count as a match (`high`). */
  minCoverage: number;
  /** Cosine at which the closest paper counts as a match (`high`), by embedder: their scales differ. */
  minDenseSimilarity: Readonly<Record<PaperEmbedder['kind'], number>>;
  /**
   * Evidence the best hit brings, in rare words: the IDF of the query's topical words it contains, divided by the
   * IDF of a word no paper has. Under `minEvidence` (and under the dense floor) nothing is near: `none`. The hits
   * of an off-topic question share one or two generic words with it ("merge", "sentences"); a paraphrase still
   * shares a few specific ones with its paper. A lexical match also needs this much to count as `high`.
   */
  minEvidence: number;
  /**
   * Coverage that counts as enough evidence on its own: a short question naming a paper ("what is MrT5?") has one
   * rare word, all of it found.
   */
  fullCoverage: number;
  /** The dense floor under which, with too little evidence, nothing is near, as a share of `minDenseSimilarity`. */
  lowDenseRatio: number;
  /** How many of the best hits together provide the coverage. */
  depth: number;
  /**
   * A question term names one of the best hits (paperNameTerms: "MrT5", "MoR", a short title) and is this rare,
   * as a share of the library (at least 2 papers): that is enough evidence, so "wat is the lexinvariant lm idea" is
   * not abstained on. Rarity keeps everyday title words out ("arithmetic" in a question about model merging names
   * nothing: it is no name).
   */
  maxNameShare: number;
}

/** Which query expansions run (`npm run bench -- eval` measures each). */
export interface QueryExpansionOptions {
  /**
   * `weak`: only when the plain query's first pass is not `high`, keeping the expanded pass only when it is surer;
   * `always`: on every query.
   */
  when: 'weak' | 'always';
  /** Append long forms of ML chat shorthand (`dpo`, `sft`, `kv`…): ML_SHORTHAND. */
  shorthand: boolean;
  /** Append the abstracts' wording of ML phrases ("teacher forcing" → exposure bias…) on every query: ML_PARAPHRASES. */
  paraphrases: boolean;
  /** Spell out abbreviations of the query as the best hits' abstracts define them ("Mixture-of-Recursions (MoR)"). */
  definitions: boolean;
  /** Pseudo-relevance feedback on `low` results: reorder with the best hits' telling words. */
  feedback: boolean;
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
  /** `false` never abstains and always reports `high` (benchmarks that rank every query). */
  abstention: Readonly<AbstentionOptions> | false;
  expansion: Readonly<QueryExpansionOptions>;
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
  // Evidence: on the loose tune questions, the dev set and the fresh set, off-topic questions whose closest paper is
  // under the dense floor reach at most 1.78; answerable ones there, all but two, at least 1.86.
  minEvidence: 1.8,
  fullCoverage: 0.8,
  lowDenseRatio: 0.85,
  depth: 2,
  maxNameShare: 0.01,
});

/**
 * Shorthand on weak first passes: loose questions (tune split) Recall@5 0.838 → 0.863, false abstention 5.0 → 3.3 %;
 * SciFact and the dev questions unchanged. Abbreviation definitions add nothing on top of it on these question sets
 * and cost SciFact 0.002 nDCG@10, so they are off (`npm run bench -- eval`).
 */
export const DEFAULT_QUERY_EXPANSION: Readonly<QueryExpansionOptions> = Object.freeze({
  when: 'weak',
  shorthand: true,
  // Against paraphrases on weak first passes only: loose tune Recall@5 0.882 → 0.919, old held-out third 0.874 →
  // 0.955; the dev questions and SciFact unchanged (README, round 2).
  paraphrases: true,
  definitions: false,
  feedback: false,
});

export const DEFAULT_HYBRID_OPTIONS: Readonly<HybridRetrieverOptions> = Object.freeze({
  candidates: 100,
  denseWeight: Object.freeze({ hashing: 0.05, transformers: 0.5 }),
  abstention: DEFAULT_ABSTENTION,
  expansion: DEFAULT_QUERY_EXPANSION,
  rerankDepth: 20,
});

/**
 * The hybrid options the settings choose: DENSE_WEIGHT and MIN_DENSE_SIMILARITY replace the defaults for every
 * embedder (only one is in use at a time).
 */
export function hybridOptionsFromSettings(settings: {
  DENSE_WEIGHT?: number | undefined;
  MIN_DENSE_SIMILARITY?: number | undefined;
}): Partial<HybridRetrieverOptions> {
  const options: Partial<HybridRetrieverOptions> = {};
  if (settings.DENSE_WEIGHT !== undefined) {
    options.denseWeight = { hashing: settings.DENSE_WEIGHT, transformers: settings.DENSE_WEIGHT };
  }
  if (settings.MIN_DENSE_SIMILARITY !== undefined) {
    const similarity = settings.MIN_DENSE_SIMILARITY;
    options.abstention = {
      ...DEFAULT_ABSTENTION,
      minDenseSimilarity: { hashing: similarity, transformers: similarity },
    };
  }
  return options;
}

/** Pseudo-relevance feedback: words taken from this many of the best hits. */
const FEEDBACK_DOCUMENTS = 3;
const FEEDBACK_WORDS = 8;

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
    const { hits, confidence, abstained } = await this.retrieveExplained(query, options);
    return { hits, confidence, abstained };
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
    if (k <= 0) return nothing({ ...NO_MATCH, denseSimilarity: 0, queryTerms: terms, expansions: [] });
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
      return nothing({ ...NO_MATCH, denseSimilarity: pass.denseSimilarity, queryTerms: terms, expansions: [] });
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

    const signals: RetrievalSignals = {
      ...pass.match,
      denseSimilarity: pass.denseSimilarity,
      queryTerms: terms,
      expansions: pass.expansions.map(describeExpansion),
    };
    if (!this.options.abstention) return { hits: fused.slice(0, k), confidence: 'high', abstained: false, signals };
    if (pass.confidence === 'none') {
      this.options.logger?.debug(
        {
          coverage: round(signals.coverage),
          evidence: round(signals.evidence),
          denseSimilarity: round(signals.denseSimilarity),
        },
        'abstained: nothing relevant in the library',
      );
      return nothing(signals);
    }
    return { hits: fused.slice(0, k), confidence: pass.confidence, abstained: false, signals };
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

/**
 * How well the best hits match the query's topical terms (IDF-weighted). Coverage: the share the top hits contain
 * between them (a comparison names two papers, each found by a different hit). Evidence: what the best hit alone
 * contains, in rare-word units. A term also counts when a hit contains its expansion (`dpo` → direct preference
 * optimization) or, for a word the library has never seen, a word one typo away (`tokn`).
 */
function lexicalMatch(
  terms: readonly string[],
  expansions: readonly Expansion[],
  hits: readonly RetrievedPaper[],
  statistics: TermStatistics,
  grading: Readonly<AbstentionOptions>,
): LexicalMatch {
  const topical = terms.filter((term) => !FILLER_TERMS.has(term));
  const idf = (term: string) => inverseDocumentFrequency(statistics, term);
  const frequency = (term: string) => statistics.frequencies.get(term) ?? 0;
  const weights = topical.map((term) => idf(term));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0 || hits.length === 0) return NO_MATCH;
  const longForms = new Map<string, string[]>();
  for (const { short, long } of expansions) for (const term of queryTerms(short)) longForms.set(term, queryTerms(long));
  const perHit = hits.map((hit) => stemmedTerms(`${hit.paper.title}\n${hit.paper.abstract}`));
  const weightFound = (vocabulary: ReadonlySet<string>) =>
    topical.reduce((sum, term, index) => {
      const found =
        matches(term, vocabulary) ||
        (longForms.get(term)?.some((longTerm) => vocabulary.has(longTerm)) ?? false) ||
        (frequency(term) === 0 && withinOneTypo(term, vocabulary));
      return sum + (found ? weights[index]! : 0);
    }, 0);
  // Names are read from the few best hits only, so this costs the same in a library of any size.
  const maxNameFrequency = Math.max(2, Math.floor(grading.maxNameShare * statistics.documents));
  const rare = topical.filter((term) => frequency(term) > 0 && frequency(term) <= maxNameFrequency);
  const names = rare.length === 0 ? [] : rare.filter((term) => hits.some((hit) => paperNameTerms(hit.paper).has(term)));
  return {
    coverage: weightFound(new Set(perHit.flat())) / total,
    evidence: weightFound(new Set(perHit[0])) / idf(''),
    names,
  };
}

interface LexicalMatch {
  coverage: number;
  evidence: number;
  names: readonly string[];
}

interface SearchPass {
  fused: RetrievedPaper[];
  denseSimilarity: number;
  expansions: Expansion[];
  match: LexicalMatch;
  confidence: RetrievalConfidence;
}

const CONFIDENCE_RANK: Readonly<Record<RetrievalConfidence, number>> = Object.freeze({ none: 0, low: 1, high: 2 });

const NO_MATCH: LexicalMatch = Object.freeze({ coverage: 0, evidence: 0, names: [] });

/**
 * `high` when the words match (coverage and evidence) or the closest paper is close; `none` when the best hit has
 * too little evidence and the closest paper is beyond the dense floor; `low` in between.
 */
export function gradeConfidence(
  signals: Readonly<Omit<LexicalMatch, 'names'> & { names?: readonly string[]; denseSimilarity: number }>,
  abstention: Readonly<AbstentionOptions>,
  embedder: PaperEmbedder['kind'],
): RetrievalConfidence {
  const minDense = abstention.minDenseSimilarity[embedder];
  const enoughEvidence =
    signals.evidence >= abstention.minEvidence ||
    signals.coverage >= abstention.fullCoverage ||
    (signals.names?.length ?? 0) > 0;
  if ((signals.coverage >= abstention.minCoverage && enoughEvidence) || signals.denseSimilarity >= minDense)
    return 'high';
  if (!enoughEvidence && signals.denseSimilarity < minDense * abstention.lowDenseRatio) return 'none';
  return 'low';
}

function describeExpansion({ short, long }: Expansion): string {
  return `${short} → ${long}`;
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

/** A typo of a word the hits have: one letter missing, extra, changed or two swapped (`tokn`, `recusions`). */
function withinOneTypo(term: string, vocabulary: ReadonlySet<string>): boolean {
  // Shorter words are one letter from too many others (gene, gener).
  if (term.length < 5) return false;
  for (const word of vocabulary) {
    if (Math.abs(word.length - term.length) <= 1 && word[0] === term[0] && editDistanceAtMostOne(term, word))
      return true;
  }
  return false;
}

function editDistanceAtMostOne(left: string, right: string): boolean {
  if (left === right) return true;
  let i = 0;
  while (i < left.length && i < right.length && left[i] === right[i]) i += 1;
  const restLeft = left.slice(i);
  const restRight = right.slice(i);
  if (restLeft.slice(1) === restRight.slice(1)) return true;
  if (restLeft.slice(1) === restRight || restLeft === restRight.slice(1)) return true;
  return (
    restLeft.length > 1 &&
    restLeft[0] === restRight[1] &&
    restLeft[1] === restRight[0] &&
    restLeft.slice(2) === restRight.slice(2)
  );
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
