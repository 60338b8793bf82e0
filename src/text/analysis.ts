import { stemmer } from 'stemmer';
import { FILLER_WORDS, SHORTHAND, STOPWORDS } from './vocabulary.js';

/**
 * Search analysis, the one used by every BM25 in papercord (the library's lexical index, PostgreSQL's, the full-text
 * passages) and by abstention: hyphen-aware tokens (`H-Net` meets `hnet`, `h net`), chat shorthand spelled out,
 * English stopwords dropped, Porter stemming. Porter beats plural-only stemming on SciFact's train split by 0.014
 * nDCG@10 and no stemming by 0.027. Changing it changes what the lexical index holds: bump LEXICAL_FORMAT
 * (src/library/sqlite/lexicalIndex.ts) when touching `tokenize` or `processTerm`.
 */

/** Stemming each word of each paper again was most of the analysis time in bulk ingest. */
const processedTerms = new Map<string, string | null>();
const PROCESSED_TERMS_CACHE_SIZE = 200_000;

/** Stems of FILLER_WORDS. Search drops them from queries (never from papers); abstention ignores them. */
export const FILLER_TERMS: ReadonlySet<string> = new Set(FILLER_WORDS.flatMap((word) => queryTerms(word)));

/** `text` without FILLER_WORDS, for embedders that weigh every word alike (the hashing embedder). */
export function withoutFillerWords(text: string): string {
  const kept = text
    .split(/\s+/)
    .filter((word) => !FILLER_WORDS_SET.has(word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')));
  return kept.length > 0 ? kept.join(' ') : text;
}

const FILLER_WORDS_SET: ReadonlySet<string> = new Set(FILLER_WORDS);

/**
 * Words: runs of letters/digits, plus every hyphenated compound joined (`t-reg` → `t`, `reg`, `treg`) so that
 * names written with or without hyphens meet.
 */
export function tokenize(text: string): string[] {
  return splitWords(text, true);
}

function splitWords(text: string, joinCompounds: boolean): string[] {
  const tokens: string[] = [];
  for (const chunk of text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}\-/]+/u)) {
    if (!chunk) continue;
    const words = chunk.split(/[-/]+/).filter(Boolean);
    for (const word of words) tokens.push(...expandShorthand(word));
    if (joinCompounds && words.length > 1 && chunk.includes('-')) tokens.push(words.join(''));
  }
  return tokens;
}

function expandShorthand(word: string): string[] {
  const expansion = SHORTHAND[word];
  return expansion ? expansion.split(/[\s-]+/) : [word];
}

/** Lower-cased, stopwords dropped, Porter-stemmed; `null` drops the term. */
export function processTerm(term: string): string | null {
  const known = processedTerms.get(term);
  if (known !== undefined) return known;
  const processed = processTermUncached(term);
  // Bounded: abstracts reuse some tens of thousands of words, but a stream of ids and formulas must not grow it forever.
  if (processedTerms.size >= PROCESSED_TERMS_CACHE_SIZE) processedTerms.clear();
  processedTerms.set(term, processed);
  return processed;
}

function processTermUncached(term: string): string | null {
  const lower = term.toLowerCase();
  if (lower.length < 2 && !/\d/.test(lower)) return null;
  if (STOPWORDS.has(lower)) return null;
  return stemmer(lower);
}

/** Content terms in order: tokenized, stopwords dropped, stemmed (what BM25 indexes and scores). */
export function stemmedTerms(text: string): string[] {
  const terms: string[] = [];
  for (const token of tokenize(text)) {
    const term = processTerm(token);
    if (term) terms.push(term);
  }
  return terms;
}

/**
 * The query's distinct content terms, each word once (`t-reg` gives `t`, `reg`, not also `treg`): what
 * abstention weighs to decide how much of a query the library covers.
 */
export function queryTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const token of splitWords(query, false)) {
    const term = processTerm(token);
    if (term) terms.add(term);
  }
  return [...terms];
}

/** A paper's analyzed fields: each distinct term with its frequency. Computed off the main thread in bulk ingest. */
export interface AnalyzedPaper {
  title: Array<[term: string, frequency: number]>;
  text: Array<[term: string, frequency: number]>;
}

function termFrequencies(terms: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return [...counts];
}

/** `text` is title and abstract together (one BM25 document, as BEIR's BM25 baseline indexes it); the title alone counts a little extra. */
export function analyzePaper(paper: { title: string; abstract: string }): AnalyzedPaper {
  return {
    title: termFrequencies(stemmedTerms(paper.title)),
    text: termFrequencies(stemmedTerms(`${paper.title}\n${paper.abstract}`)),
  };
}
