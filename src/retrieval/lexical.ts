import MiniSearch, { type AsPlainObject, type Options } from 'minisearch';
import { stemmer } from 'stemmer';
import stopword from 'stopword';
import type { Paper } from '../papers/paper.js';

/**
 * Full-text index over titles and abstracts, persisted beside the vector index.
 *
 * BM25 on minisearch with Porter stemming, English stopwords, hyphen-aware tokens (`H-Net` matches `hnet`, `h net`)
 * and a lightly boosted title. Tuned on SciFact's train split (`npm run bench -- eval`): minisearch's defaults
 * score nDCG@10 0.60 there, this configuration 0.70 (k1, b, title boost and BM25+ `d` all sit on a plateau within
 * ±0.003; Porter beats plural-only stemming by 0.014 and no stemming by 0.027).
 */
export interface LexicalHit {
  id: string;
  score: number;
}

export interface LexicalTuning {
  /** BM25 saturation (minisearch's `k`). */
  k1: number;
  /** BM25 length normalization. */
  b: number;
  /** BM25+ lower bound for a matching term; 0 is classic BM25. */
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
 * Changing these changes scores in persisted indexes only at query time (the index stores term statistics,
 * not scores), so old `lexical.json` files stay valid. Tokenization changes, however, need a rebuild:
 * bump LEXICAL_FORMAT when touching `tokenize` or `processTerm`.
 */
export const DEFAULT_LEXICAL_TUNING: Readonly<LexicalTuning> = Object.freeze({
  k1: 1.2,
  b: 0.75,
  d: 0,
  titleBoost: 0.2,
  prefixMinLength: 3,
  fuzzyMinLength: 5,
  fuzziness: 0.2,
  dropFiller: true,
});

/** Recorded in the JSON so an index tokenized differently is rejected instead of silently mis-searched. */
export const LEXICAL_FORMAT = 'papercord-lexical/3';

const STOPWORDS = new Set<string>([
  ...stopword.eng,
  // Informal connectives seen in chat questions; they carry no topic.
  'whats', 'thru', 'via', 'vs', 'versus', 'any', 'anything', 'paper', 'papers', 'way', 'ways', 'does', 'do', 'can',
]);

/**
 * Words of chat questions that say nothing about the topic ("why do … just … so the model … any fix better…").
 * Unknown to a small library, they would otherwise weigh as much as its rarest terms and pull coverage down.
 */
export const FILLER_WORDS = [
  'why', 'how', 'what', 'whats', 'which', 'when', 'who', 'whose', 'does', 'do', 'did', 'done', 'can', 'could', 'should',
  'would', 'will', 'just', 'so', 'etc', 'eg', 'ie', 'don', 'dont', 'per', 'instead', 'rather', 'every', 'once', 'better',
  'best', 'good', 'bad', 'use', 'using', 'used', 'pick', 'need', 'needed', 'needs', 'thing', 'things', 'stuff', 'work',
  'works', 'working', 'get', 'gets', 'got', 'way', 'ways', 'really', 'actually', 'kind', 'sort', 'lot', 'lots', 'huge',
  'tiny', 'weird', 'cool', 'nice', 'anyone', 'anything', 'something', 'someone', 'paper', 'papers', 'work', 'know',
  'explain', 'explained', 'simply', 'tell', 'give', 'show', 'find', 'look', 'looking', 'want', 'try', 'tips', 'help',
  'make', 'makes', 'making', 'difference', 'differ', 'differences', 'compare', 'vs', 'versus', 'whole', 'own', 'one',
  'thru', 'w', 'wo', 'via', 'ok', 'okay', 'yes', 'no', 'not', 'agree', 'mean', 'means', 'idea', 'ideas',
  'hey', 'hi', 'hello', 'thanks', 'thx', 'please', 'pls', 'plz',
  // Chat spellings: unknown to every library, they would weigh as its rarest words ("wat is the … idea").
  'wat', 'wut', 'wats', 'diff', 'u', 'ur', 'ppl', 'lol', 'tbh', 'imo', 'btw', 'idk', 'smth', 'sth', 'gonna', 'wanna', 'kinda',
  'sorta', 'pretty', 'basically', 'ya', 'yo', 'guys', 'folks',
];
/** Chat shorthand expanded before stemming, so `w/o retraining` and `long ctx` match abstracts' wording. */
const SHORTHAND: Readonly<Record<string, string>> = Object.freeze({
  ctx: 'context',
  seq: 'sequence',
  seqs: 'sequences',
  archs: 'architectures',
  arch: 'architecture',
  hypernet: 'hypernetwork',
  hypernets: 'hypernetworks',
  params: 'parameters',
  lm: 'language model',
  lms: 'language models',
  rl: 'reinforcement learning',
  icl: 'in-context learning',
  iwl: 'in-weights learning',
  cot: 'chain-of-thought',
  end2end: 'end-to-end',
});

/** Stems of FILLER_WORDS. Search drops them from queries (never from papers); abstention ignores them. */
export const FILLER_TERMS: ReadonlySet<string> = new Set(FILLER_WORDS.flatMap((word) => queryTerms(word)));

/** `text` without FILLER_WORDS, for embedders that weigh every word alike (the hashing embedder). */
export function withoutFillerWords(text: string): string {
  const kept = text.split(/\s+/).filter((word) => !FILLER_WORDS_SET.has(word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')));
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
  for (const chunk of text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}\-/]+/u)) {
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
  const lower = term.toLowerCase();
  if (lower.length < 2 && !/\d/.test(lower)) return null;
  if (STOPWORDS.has(lower)) return null;
  return stemmer(lower);
}

/** Content terms in order: tokenized, stopwords dropped, stemmed. */
export function analyze(text: string): string[] {
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

/** Reads term statistics minisearch keeps but does not publish (its members are protected, not private). */
class MiniSearchInternals extends MiniSearch<Paper> {
  static documentFrequency(search: MiniSearch<Paper>, term: string): number {
    const internals = search as unknown as MiniSearchInternals;
    const fieldId = internals._fieldIds['text'];
    if (fieldId === undefined) return 0;
    return internals._index.get(term)?.get(fieldId)?.size ?? 0;
  }
}

interface SerializedLexicalIndex {
  format: string;
  index: unknown;
}

export class LexicalIndex {
  private readonly search_: MiniSearch<Paper>;

  private constructor(search: MiniSearch<Paper>) {
    this.search_ = search;
  }

  static create(): LexicalIndex {
    return new LexicalIndex(new MiniSearch<Paper>(LexicalIndex.options()));
  }

  /** Restores an index from `toJSON()` output; throws when the data is not a lexical index of this format. */
  static fromJSON(json: string): LexicalIndex {
    const parsed = JSON.parse(json) as Partial<SerializedLexicalIndex> | null;
    if (!parsed || typeof parsed !== 'object' || parsed.format !== LEXICAL_FORMAT || typeof parsed.index !== 'object') {
      throw new Error(`not a lexical index of format ${LEXICAL_FORMAT}`);
    }
    // loadJS checks minisearch's own serialization version and throws on an incompatible one.
    return new LexicalIndex(MiniSearch.loadJS<Paper>(parsed.index as AsPlainObject, LexicalIndex.options()));
  }

  private static options(): Options<Paper> {
    return {
      // `text` is title and abstract together (one BM25 document, as BEIR's BM25 baseline indexes it); `title` again
      // on its own lets a title match count a little extra.
      fields: ['title', 'text'],
      storeFields: [],
      idField: 'id',
      extractField: (paper, field) =>
        // minisearch reads the id field through this too.
        field === 'id' ? paper.id : field === 'title' ? paper.title : `${paper.title}\n${paper.abstract}`,
      tokenize: (text) => analyze(text),
      // `tokenize` already produced final terms.
      processTerm: (term) => term,
      // Terms that are not in the vocabulary produce no warnings; the default logger would use console.
      logger: () => undefined,
    };
  }

  get size(): number {
    return this.search_.documentCount;
  }

  has(id: string): boolean {
    return this.search_.has(id);
  }

  add(papers: readonly Paper[]): void {
    const fresh = new Map<string, Paper>();
    for (const paper of papers) if (!this.search_.has(paper.id)) fresh.set(paper.id, paper);
    this.search_.addAll([...fresh.values()]);
  }

  /**
   * Best first; scores are BM25 sums over query terms. Query terms the library has never seen (chat shorthand,
   * truncated names: `hypernet`, `seq`) are retried as prefixes and with small typos; terms it knows are matched
   * exactly, so precise queries keep plain BM25 ranking.
   */
  search(query: string, k: number, tuning: Partial<LexicalTuning> = {}): LexicalHit[] {
    const { k1, b, d, titleBoost, prefixMinLength, fuzzyMinLength, fuzziness, dropFiller } = {
      ...DEFAULT_LEXICAL_TUNING,
      ...tuning,
    };
    const unknown = new Set(queryTerms(query).filter((term) => this.documentFrequency(term) === 0));
    const loose = (minLength: number) => (term: string) => minLength > 0 && unknown.has(term) && term.length >= minLength;
    const results = this.search_.search(query, {
      combineWith: 'OR',
      // Each term once: a word repeated in a question is not more important.
      tokenize: (text) => [...new Set(analyze(text).filter((term) => !(dropFiller && FILLER_TERMS.has(term))))],
      boost: { title: titleBoost, text: 1 },
      bm25: { k: k1, b, d },
      prefix: loose(prefixMinLength),
      fuzzy: (term) => (loose(fuzzyMinLength)(term) ? fuzziness : false),
    });
    return (
      results
        // minisearch multiplies each score by the number of matched query terms; plain BM25 ranks better on
        // SciFact without it, so it is divided back out.
        .map((result) => ({ id: String(result.id), score: result.score / Math.max(1, result.queryTerms.length) }))
        .sort((left, right) => right.score - left.score)
        .slice(0, k)
    );
  }

  /** Documents containing an (analyzed) term; 0 for terms the library has never seen. */
  documentFrequency(term: string): number {
    return MiniSearchInternals.documentFrequency(this.search_, term);
  }

  toJSON(): string {
    const serialized: SerializedLexicalIndex = { format: LEXICAL_FORMAT, index: this.search_.toJSON() };
    return JSON.stringify(serialized);
  }
}
