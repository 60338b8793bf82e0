import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import type { Reranker } from './rerank.js';

/** The hybrid retriever's options and their measured defaults, and how the settings (config) change them. */

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
  /** How many of the best hits are the evidence that must cover every key concept of the question for `high`. */
  conceptDepth: number;
  /** A question word in at most this share of the library is a key concept (keyConcepts.ts). */
  rareShare: number;
  /** Content words between a key concept's rare word and its neighbour from the question, in a paper. */
  window: number;
  /** Two question words side by side, the rarer in at most this share of the library, must stand together in a paper. */
  phraseShare: number;
  /**
   * Missing concepts cap confidence when their IDF is at least this share of the IDF of the specific words (outside
   * the library's everyday vocabulary) that the best hit shares with the question: chat words a well-matched
   * question adds ("any trick", "go quiet") are not what it asks about.
   */
  missingWeight: number;
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
  conceptDepth: 3,
  rareShare: 0.05,
  window: 3,
  phraseShare: 0.1,
  missingWeight: 0.8,
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
 * embedder (only one is in use at a time). Without MIN_DENSE_SIMILARITY, a model's own floor (its profile's: models
 * spread similarities very differently) replaces the transformers default.
 */
export function hybridOptionsFromSettings(
  settings: {
    DENSE_WEIGHT?: number | undefined;
    MIN_DENSE_SIMILARITY?: number | undefined;
  },
  embedder?: Pick<PaperEmbedder, 'minDenseSimilarity'>,
): Partial<HybridRetrieverOptions> {
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
  } else if (embedder?.minDenseSimilarity !== undefined) {
    options.abstention = {
      ...DEFAULT_ABSTENTION,
      minDenseSimilarity: { ...DEFAULT_ABSTENTION.minDenseSimilarity, transformers: embedder.minDenseSimilarity },
    };
  }
  return options;
}
