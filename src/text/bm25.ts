/**
 * BM25, the one set of constants and the one IDF for every BM25 in papercord: the library's lexical index
 * (src/library/sqlite/lexicalIndex.ts), PostgreSQL's (the same formula in SQL, fed these constants), full-text passages
 * and abstention's term weights.
 *
 * Tuned on SciFact's train split (`npm run bench -- eval`): minisearch's defaults score nDCG@10 0.60 there, this
 * configuration 0.70 (k1, b, title boost and BM25+ `d` all sit on a plateau within ±0.003).
 */

export interface Bm25Parameters {
  /** Saturation (minisearch's `k`). */
  k1: number;
  /** Length normalization. */
  b: number;
}

export const BM25_PARAMETERS: Readonly<Bm25Parameters> = Object.freeze({ k1: 1.2, b: 0.75 });

/** Weight of the title field beside title and abstract together (one BM25 document, as BEIR's baseline indexes it). */
export const TITLE_BOOST = 0.2;

export interface LexicalTuning extends Bm25Parameters {
  /** BM25+ lower bound for a matching term, at least 0; 0 is classic BM25. */
  d: number;
  titleBoost: number;
  /** Unknown query terms at least this long also match index terms they begin (`hypernet` → `hypernetwork`); 0 is off. */
  prefixMinLength: number;
  /** Unknown query terms at least this long also match index terms within `fuzziness` edits; 0 is off. */
  fuzzyMinLength: number;
  /** Edit distance as a fraction of the term length (minisearch's `fuzzy`). */
  fuzziness: number;
  /** Drop FILLER_WORDS from queries. */
  dropFiller: boolean;
}

/**
 * Changing these changes scores only at query time (the index stores term statistics, not scores). Tokenization
 * changes, however, need a rebuild (see src/text/analysis.ts).
 */
export const DEFAULT_LEXICAL_TUNING: Readonly<LexicalTuning> = Object.freeze({
  ...BM25_PARAMETERS,
  d: 0,
  titleBoost: TITLE_BOOST,
  prefixMinLength: 3,
  fuzzyMinLength: 5,
  fuzziness: 0.2,
  dropFiller: true,
});

/**
 * BM25's IDF of a term held by `matching` of `documents` documents (always positive: Lucene's form). A term no
 * document holds gets the IDF of a term in half a document, the rarest there is.
 */
export function bm25Idf(documents: number, matching: number): number {
  return Math.log(1 + (documents - matching + 0.5) / (matching + 0.5));
}

/** One term's BM25 score in one document, before its IDF: `frequency` occurrences in a document of `length` terms. */
export function bm25TermFrequencyWeight(
  frequency: number,
  length: number,
  averageLength: number,
  { k1, b }: Bm25Parameters = BM25_PARAMETERS,
): number {
  return (frequency * (k1 + 1)) / (frequency + k1 * (1 - b + (b * length) / averageLength));
}

/**
 * Query terms the library has never seen (chat shorthand, truncated names) are expanded to known terms they begin
 * or nearly spell, weighted as minisearch weighs them; both lexical indexes (SQLite and PostgreSQL) apply these.
 */
export const TERM_EXPANSION = Object.freeze({
  /** Weight of a known term an unknown query term begins (`hypernet` → `hypernetwork`). */
  prefixWeight: 0.375,
  /** Weight of a known term within the fuzzy edit distance. */
  fuzzyWeight: 0.45,
  /** Cap on the edit distance of a fuzzy match. */
  maxFuzzyDistance: 6,
});
