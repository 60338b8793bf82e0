import type { PaperEmbedder } from '../embeddings/types.js';
import { inverseDocumentFrequency, type TermStatistics } from '../library/library.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import type { AbstentionOptions } from './hybridOptions.js';
import { paperNameTerms } from './paperNames.js';
import type { Expansion } from './queryExpansion.js';
import type { RetrievalConfidence, RetrievedPaper } from './types.js';

/**
 * Whether the library answers a query: how well the best hits match its words (lexicalMatch) and the grade that,
 * with the closest paper's dense similarity, decides between `high`, `low` and abstaining (gradeConfidence).
 */

/**
 * How well the best hits match the query's topical terms (IDF-weighted). Coverage: the share the top hits contain
 * between them (a comparison names two papers, each found by a different hit). Evidence: what the best hit alone
 * contains, in rare-word units. A term also counts when a hit contains its expansion (`dpo` → direct preference
 * optimization) or, for a word the library has never seen, a word one typo away (`tokn`).
 */
export function lexicalMatch(
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
  const longForms = expansionLongForms(expansions);
  const perHit = hits.map((hit) => stemmedTerms(`${hit.paper.title}\n${hit.paper.abstract}`));
  const weightFound = (vocabulary: ReadonlySet<string>) =>
    topical.reduce(
      (sum, term, index) => sum + (termFound(term, vocabulary, longForms, frequency(term)) ? weights[index]! : 0),
      0,
    );
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

export interface LexicalMatch {
  coverage: number;
  evidence: number;
  names: readonly string[];
}

export const NO_MATCH: LexicalMatch = Object.freeze({ coverage: 0, evidence: 0, names: [] });

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

/** Each expanded short form's terms mapped to its long form's terms (`dpo` → direct, prefer, optim). */
export function expansionLongForms(expansions: readonly Expansion[]): Map<string, string[]> {
  const longForms = new Map<string, string[]>();
  for (const { short, long } of expansions) for (const term of queryTerms(short)) longForms.set(term, queryTerms(long));
  return longForms;
}

/**
 * A query term is in a text's vocabulary: as it is or as a word it begins, through its expansion (`dpo` → direct
 * preference optimization), or, for a word the library has never seen (`frequency` 0), one typo away (`tokn`).
 */
export function termFound(
  term: string,
  vocabulary: ReadonlySet<string>,
  longForms: ReadonlyMap<string, readonly string[]>,
  frequency: number,
): boolean {
  return (
    matches(term, vocabulary) ||
    (longForms.get(term)?.some((longTerm) => vocabulary.has(longTerm)) ?? false) ||
    (frequency === 0 && withinOneTypo(term, vocabulary))
  );
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
