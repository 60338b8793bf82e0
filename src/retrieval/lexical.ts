import type { Database, Statement } from 'better-sqlite3';
import SearchableMap from 'minisearch/SearchableMap';
import { stemmer } from 'stemmer';
import stopword from 'stopword';
import type { Paper } from '../papers/paper.js';

/**
 * Full-text index over titles and abstracts, kept in the library's SQLite database and updated incrementally.
 *
 * BM25 with Porter stemming, English stopwords, hyphen-aware tokens (`H-Net` matches `hnet`, `h net`) and a lightly
 * boosted title, scored exactly as the minisearch index it replaced scored (per-field BM25, unknown query terms
 * expanded by prefix and edit distance), so rankings did not move. Tuned on SciFact's train split
 * (`npm run bench -- eval`): minisearch's defaults score nDCG@10 0.60 there, this configuration 0.70 (k1, b, title
 * boost and BM25+ `d` all sit on a plateau within ±0.003; Porter beats plural-only stemming by 0.014 and no
 * stemming by 0.027).
 *
 * Why not SQLite FTS5: measured on 20,000 generated abstracts, an FTS5 `bm25()` query over the same analyzed terms
 * took 16 ms p50 (every matching row goes through the ranking function), five times the budget at 100,000 papers,
 * and its BM25 (one length per row, IDF clamped at 0) is not the one tuned here. Posting lists read from SQLite
 * and summed into typed arrays keep the scores and stay within a few milliseconds.
 */
export interface LexicalHit {
  /** The paper's sequence number in the library. */
  seq: number;
  score: number;
}

export interface LexicalTuning {
  /** BM25 saturation (minisearch's `k`). */
  k1: number;
  /** BM25 length normalization. */
  b: number;
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
 * changes, however, need a rebuild: bump LEXICAL_FORMAT when touching `tokenize` or `processTerm`.
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

/** Recorded with the index so one tokenized differently is rebuilt instead of silently mis-searched. */
export const LEXICAL_FORMAT = 'papercord-lexical/3';

/** Stemming each word of each paper again was most of the analysis time in bulk ingest. */
const processedTerms = new Map<string, string | null>();
const PROCESSED_TERMS_CACHE_SIZE = 200_000;

const STOPWORDS = new Set<string>([
  ...stopword.eng,
  // Informal connectives seen in chat questions; they carry no topic.
  'whats',
  'thru',
  'via',
  'vs',
  'versus',
  'any',
  'anything',
  'paper',
  'papers',
  'way',
  'ways',
  'does',
  'do',
  'can',
]);

/**
 * Words of chat questions that say nothing about the topic ("why do … just … so the model … any fix better…").
 * Unknown to a small library, they would otherwise weigh as much as its rarest terms and pull coverage down.
 */
export const FILLER_WORDS = [
  'why',
  'how',
  'what',
  'whats',
  'which',
  'when',
  'who',
  'whose',
  'does',
  'do',
  'did',
  'done',
  'can',
  'could',
  'should',
  'would',
  'will',
  'just',
  'so',
  'etc',
  'eg',
  'ie',
  'don',
  'dont',
  'per',
  'instead',
  'rather',
  'every',
  'once',
  'better',
  'best',
  'good',
  'bad',
  'use',
  'using',
  'used',
  'pick',
  'need',
  'needed',
  'needs',
  'thing',
  'things',
  'stuff',
  'work',
  'works',
  'working',
  'get',
  'gets',
  'got',
  'way',
  'ways',
  'really',
  'actually',
  'kind',
  'sort',
  'lot',
  'lots',
  'huge',
  'tiny',
  'weird',
  'cool',
  'nice',
  'anyone',
  'anything',
  'something',
  'someone',
  'paper',
  'papers',
  'work',
  'know',
  'explain',
  'explained',
  'simply',
  'tell',
  'give',
  'show',
  'find',
  'look',
  'looking',
  'want',
  'try',
  'tips',
  'help',
  'make',
  'makes',
  'making',
  'difference',
  'differ',
  'differences',
  'compare',
  'vs',
  'versus',
  'whole',
  'own',
  'one',
  'thru',
  'w',
  'wo',
  'via',
  'ok',
  'okay',
  'yes',
  'no',
  'not',
  'agree',
  'mean',
  'means',
  'idea',
  'ideas',
  'hey',
  'hi',
  'hello',
  'thanks',
  'thx',
  'please',
  'pls',
  'plz',
  // Chat spellings: unknown to every library, they would weigh as its rarest words ("wat is the … idea").
  'wat',
  'wut',
  'wats',
  'diff',
  'u',
  'ur',
  'ppl',
  'lol',
  'tbh',
  'imo',
  'btw',
  'idk',
  'smth',
  'sth',
  'gonna',
  'wanna',
  'kinda',
  'sorta',
  'pretty',
  'basically',
  'ya',
  'yo',
  'guys',
  'folks',
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
export function analyzePaper(paper: Pick<Paper, 'title' | 'abstract'>): AnalyzedPaper {
  return {
    title: termFrequencies(analyze(paper.title)),
    text: termFrequencies(analyze(`${paper.title}\n${paper.abstract}`)),
  };
}

const TITLE_FIELD = 0;
const TEXT_FIELD = 1;
const FIELDS = [TITLE_FIELD, TEXT_FIELD] as const;
/** Weights of prefix and edit-distance expansions of unknown query terms (minisearch's defaults). */
const PREFIX_WEIGHT = 0.375;
const FUZZY_WEIGHT = 0.45;
const MAX_FUZZY_DISTANCE = 6;
/** Posting segments a term may have before a compaction merges them. */
const MAX_SEGMENTS = 4;

/** A list of at least this share of the library switches a query from listing touched papers to scanning scores. */
const DENSE_LIST_FRACTION = 8;

/** One (term, field) posting list of a query: its postings' BM25 term scores are multiplied by `factor`. */
interface PostingList {
  term: string;
  field: typeof TITLE_FIELD | typeof TEXT_FIELD;
  factor: number;
  documents: number;
}

/** Tables of the lexical index, in the library database. */
export const LEXICAL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS lexical_lengths (seq INTEGER PRIMARY KEY, title INTEGER NOT NULL, text INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS lexical_terms (
    term TEXT PRIMARY KEY, title_df INTEGER NOT NULL, text_df INTEGER NOT NULL, first_seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS lexical_terms_by_first_seq ON lexical_terms (first_seq);
  CREATE TABLE IF NOT EXISTS lexical_postings (term TEXT NOT NULL, field INTEGER NOT NULL, postings BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS lexical_postings_by_term ON lexical_postings (term, field);
`;

/** Reads a blob of little-endian uint32 pairs without copying when it is aligned. */
function uint32View(blob: Buffer): Uint32Array {
  if (blob.byteOffset % 4 === 0) return new Uint32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Uint32Array(new Uint8Array(blob).buffer);
}

/**
 * BM25 over posting lists stored in SQLite. Each commit appends one posting row per (term, field) for its papers,
 * so adding k papers writes O(k); `compact()` merges a term's rows when they pile up. Document frequencies live in
 * `lexical_terms`: the one source of term statistics for ranking and for abstention. Field lengths are held in
 * memory (two small integers per paper) and brought up to date by `refresh()`.
 */
export class LexicalIndex {
  private readonly statements: {
    lengthsAfter: Statement<[number], [number, number, number]>;
    term: Statement<[string], { title_df: number; text_df: number }>;
    postings: Statement<[string, number], { postings: Buffer }>;
    prefixed: Statement<[string, string], { term: string }>;
    termsSince: Statement<[number], { term: string }>;
    upsertTerm: Statement<[string, number, number, number]>;
    insertPosting: Statement<[string, number, Buffer]>;
    insertLength: Statement<[number, number, number]>;
  };
  private readonly db: Database;
  private titleLengths = new Uint16Array(1024);
  private textLengths = new Uint16Array(1024);
  private totalTitle = 0;
  private totalText = 0;
  private documents = 0;
  /** Highest sequence number whose lengths are loaded; postings beyond it belong to commits not seen yet. */
  private loadedThrough = -1;
  private scores = new Float64Array(1024);
  /** Postings the last `search` added to a score (for benchmarks). */
  lastSearchPostings = 0;
  /**
   * Every known term in a radix tree, for edit-distance expansion of unknown query terms (the tree minisearch
   * searched): built on the first query that needs it, then kept up to date by `refresh()`.
   */
  private vocabulary: SearchableMap<true> | undefined;

  constructor(db: Database) {
    this.db = db;
    db.exec(LEXICAL_SCHEMA);
    this.statements = {
      lengthsAfter: db
        .prepare<[number], [number, number, number]>(
          'SELECT seq, title, text FROM lexical_lengths WHERE seq > ? ORDER BY seq',
        )
        .raw(),
      term: db.prepare('SELECT title_df, text_df FROM lexical_terms WHERE term = ?'),
      postings: db.prepare('SELECT postings FROM lexical_postings WHERE term = ? AND field = ?'),
      prefixed: db.prepare('SELECT term FROM lexical_terms WHERE term > ? AND term < ?'),
      termsSince: db.prepare('SELECT term FROM lexical_terms WHERE first_seq > ?'),
      upsertTerm: db.prepare(
        'INSERT INTO lexical_terms (term, title_df, text_df, first_seq) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (term) DO UPDATE SET title_df = title_df + excluded.title_df, text_df = text_df + excluded.text_df',
      ),
      insertPosting: db.prepare('INSERT INTO lexical_postings (term, field, postings) VALUES (?, ?, ?)'),
      insertLength: db.prepare('INSERT INTO lexical_lengths (seq, title, text) VALUES (?, ?, ?)'),
    };
  }

  /** Papers indexed (as of the last `refresh()`). */
  get size(): number {
    return this.documents;
  }

  /**
   * Writes the postings of `papers` (by sequence number); call inside the transaction that stores them, then
   * `refresh()` once it has committed.
   */
  add(papers: ReadonlyArray<{ seq: number; analyzed: AnalyzedPaper }>): void {
    if (papers.length === 0) return;
    const postings = new Map<string, [number[], number[]]>();
    for (const { seq, analyzed } of papers) {
      this.statements.insertLength.run(seq, analyzed.title.length, analyzed.text.length);
      for (const field of FIELDS) {
        for (const [term, frequency] of field === TITLE_FIELD ? analyzed.title : analyzed.text) {
          let lists = postings.get(term);
          if (!lists) postings.set(term, (lists = [[], []]));
          lists[field].push(seq, frequency);
        }
      }
    }
    for (const [term, lists] of postings) {
      this.statements.upsertTerm.run(
        term,
        lists[TITLE_FIELD].length / 2,
        lists[TEXT_FIELD].length / 2,
        lists[TEXT_FIELD][0] ?? lists[TITLE_FIELD][0]!,
      );
      for (const field of FIELDS) {
        if (lists[field].length > 0)
          this.statements.insertPosting.run(term, field, Buffer.from(Uint32Array.from(lists[field]).buffer));
      }
    }
  }

  /** Loads the field lengths of papers committed since the last call (by this process or another). */
  refresh(): void {
    const before = this.loadedThrough;
    if (this.vocabulary)
      for (const { term } of this.statements.termsSince.iterate(before)) this.vocabulary.set(term, true);
    for (const [seq, title, text] of this.statements.lengthsAfter.iterate(this.loadedThrough)) {
      this.ensureCapacity(seq + 1);
      this.titleLengths[seq] = title;
      this.textLengths[seq] = text;
      this.totalTitle += title;
      this.totalText += text;
      this.documents += 1;
      this.loadedThrough = seq;
    }
  }

  /** Documents containing an (analyzed) term; 0 for terms the library has never seen. */
  documentFrequency(term: string): number {
    return this.statements.term.get(term)?.text_df ?? 0;
  }

  /**
   * Best first; scores are BM25 sums over query terms. Query terms the library has never seen (chat shorthand,
   * truncated names: `hypernet`, `seq`) are retried as prefixes and with small typos; terms it knows are matched
   * exactly, so precise queries keep plain BM25 ranking.
   */
  search(query: string, k: number, tuning: Partial<LexicalTuning> = {}): LexicalHit[] {
    const options = { ...DEFAULT_LEXICAL_TUNING, ...tuning };
    if (k <= 0 || this.documents === 0) return [];
    // Each term once: a word repeated in a question is not more important.
    const sourceTerms = [...new Set(analyze(query).filter((term) => !(options.dropFiller && FILLER_TERMS.has(term))))];
    const unknown = new Set(queryTerms(query).filter((term) => this.documentFrequency(term) === 0));
    const lists = this.postingLists(sourceTerms, unknown, options);
    const touched: number[] = [];
    // Once a list covers a good part of the library, papers are no longer listed as they are touched (that
    // bookkeeping cost three times the scoring itself); the scores array is scanned for the best instead.
    let dense = false;
    this.lastSearchPostings = 0;
    for (const list of lists) {
      dense ||= list.documents * DENSE_LIST_FRACTION >= this.documents;
      this.accumulate(list, options, dense ? undefined : touched);
    }
    const hits = this.best(dense ? undefined : touched, k);
    if (dense) this.scores.fill(0, 0, this.loadedThrough + 1);
    else for (const seq of touched) this.scores[seq] = 0;
    return hits;
  }

  /** The (term, field) lists a query reads, the rarest first (so that the touched papers are listed while few). */
  private postingLists(
    sourceTerms: readonly string[],
    unknown: ReadonlySet<string>,
    options: LexicalTuning,
  ): PostingList[] {
    const lists: PostingList[] = [];
    for (const term of sourceTerms) {
      for (const [derived, weight] of this.expansions(term, unknown.has(term), options)) {
        const frequencies = this.statements.term.get(derived);
        if (!frequencies) continue;
        for (const field of FIELDS) {
          const matching = field === TITLE_FIELD ? frequencies.title_df : frequencies.text_df;
          if (matching === 0) continue;
          const boost = field === TITLE_FIELD ? options.titleBoost : 1;
          const idf = Math.log(1 + (this.documents - matching + 0.5) / (matching + 0.5));
          const factor = weight * boost * idf;
          // A list that adds nothing (a title boost of 0) is not read: every list read adds a positive amount.
          if (!(factor > 0)) continue;
          lists.push({ term: derived, field, factor, documents: matching });
        }
      }
    }
    return lists.sort((left, right) => left.documents - right.documents);
  }

  /** The k best of `papers` (undefined: of every paper with a score). */
  private topOf(papers: ArrayLike<number> | undefined, k: number): TopK {
    const top = new TopK(k);
    const scores = this.scores;
    if (papers === undefined) {
      // Ascending seqs: a score equal to the lowest kept loses its tie, so only a higher one can enter.
      let floor = 0;
      for (let seq = 0; seq <= this.loadedThrough; seq++) {
        const score = scores[seq]!;
        if (score > floor) {
          top.offer(seq, score);
          floor = Math.max(0, top.threshold());
        }
      }
    } else {
      for (let index = 0; index < papers.length; index++) top.offer(papers[index]!, scores[papers[index]!]!);
    }
    return top;
  }

  /**
   * Merges the posting rows of terms that have accumulated more than a few (one per commit that used the term), so
   * queries read one row per term. O(index size); run with checkpoints, not with every commit.
   */
  compact(): number {
    const crowded = this.db
      .prepare<[number], { term: string; field: number }>(
        'SELECT term, field FROM lexical_postings GROUP BY term, field HAVING count(*) > ?',
      )
      .all(MAX_SEGMENTS);
    if (crowded.length === 0) return 0;
    const remove = this.db.prepare<[string, number]>('DELETE FROM lexical_postings WHERE term = ? AND field = ?');
    this.db.transaction(() => {
      for (const { term, field } of crowded) {
        const rows = this.statements.postings.all(term, field);
        const merged = Buffer.concat(rows.map((row) => row.postings));
        remove.run(term, field);
        this.statements.insertPosting.run(term, field, merged);
      }
    })();
    return crowded.length;
  }

  /** The term itself, then (for a term the library does not know) the known terms it begins or nearly spells. */
  private expansions(term: string, unknown: boolean, options: LexicalTuning): Array<[string, number]> {
    const derived: Array<[string, number]> = [[term, 1]];
    if (!unknown) return derived;
    const prefixed = new Set<string>();
    if (options.prefixMinLength > 0 && term.length >= options.prefixMinLength) {
      for (const { term: candidate } of this.statements.prefixed.iterate(term, `${term}\uffff`)) {
        prefixed.add(candidate);
        const distance = candidate.length - term.length;
        derived.push([candidate, (PREFIX_WEIGHT * candidate.length) / (candidate.length + 0.3 * distance)]);
      }
    }
    if (options.fuzzyMinLength > 0 && term.length >= options.fuzzyMinLength) {
      const maxDistance = Math.min(MAX_FUZZY_DISTANCE, Math.round(term.length * options.fuzziness));
      if (maxDistance > 0) {
        for (const [candidate, [, distance]] of this.knownTerms().fuzzyGet(term, maxDistance)) {
          if (distance === 0 || prefixed.has(candidate)) continue;
          derived.push([candidate, (FUZZY_WEIGHT * candidate.length) / (candidate.length + distance)]);
        }
      }
    }
    return derived;
  }

  private knownTerms(): SearchableMap<true> {
    if (!this.vocabulary) {
      const vocabulary = new SearchableMap<true>();
      // Terms of papers not loaded yet are taken in by the next refresh.
      for (const { term } of this.statements.termsSince.iterate(-1)) vocabulary.set(term, true);
      this.vocabulary = vocabulary;
    }
    return this.vocabulary;
  }

  /** Adds `list` to every paper's score, listing in `touched` the papers it touches first (when given). */
  private accumulate(list: PostingList, options: LexicalTuning, touched: number[] | undefined): void {
    const { k1, b, d } = options;
    const { factor } = list;
    const lengths = list.field === TITLE_FIELD ? this.titleLengths : this.textLengths;
    const averageLength = (list.field === TITLE_FIELD ? this.totalTitle : this.totalText) / this.documents;
    // Hoisted: V8 cannot keep fields in registers across the loop.
    const { scores, loadedThrough } = this;
    const saturation = k1 + 1;
    const oneMinusB = 1 - b;
    let scored = 0;
    for (const { postings } of this.statements.postings.iterate(list.term, list.field)) {
      const pairs = uint32View(postings);
      for (let index = 0; index < pairs.length; index += 2) {
        const seq = pairs[index]!;
        if (seq > loadedThrough) continue;
        const frequency = pairs[index + 1]!;
        // Every posting adds a positive amount, so a zero score is a paper this query has not touched yet.
        if (touched !== undefined && scores[seq] === 0) touched.push(seq);
        scores[seq] +=
          factor *
          (d + (frequency * saturation) / (frequency + k1 * (oneMinusB + (b * lengths[seq]!) / averageLength)));
        scored++;
      }
    }
    this.lastSearchPostings += scored;
  }

  /**
   * The k best of the touched papers. minisearch multiplied each score by the number of matched query terms; plain
   * BM25 ranks better on SciFact without it, so it was divided back out, and is simply not applied here.
   */
  private best(papers: ArrayLike<number> | undefined, k: number): LexicalHit[] {
    return this.topOf(papers, k).sorted();
  }

  private ensureCapacity(size: number): void {
    if (size <= this.titleLengths.length) return;
    let capacity = this.titleLengths.length;
    while (capacity < size) capacity *= 2;
    const grow = <T extends Uint16Array | Float64Array | Uint8Array>(array: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(array as never);
      return next;
    };
    this.titleLengths = grow(this.titleLengths, (n) => new Uint16Array(n));
    this.textLengths = grow(this.textLengths, (n) => new Uint16Array(n));
    this.scores = grow(this.scores, (n) => new Float64Array(n));
  }
}

/**
 * The k best (seq, score) pairs offered, in a bounded min-heap of typed arrays (the worst kept at the root: lower
 * score, then higher seq), so that tens of thousands of matches cost a comparison each, not an object each.
 */
class TopK {
  private readonly scores: Float64Array;
  private readonly seqs: Int32Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.scores = new Float64Array(k);
    this.seqs = new Int32Array(k);
  }

  offer(seq: number, score: number): void {
    const { scores, seqs, k } = this;
    if (this.size < k) {
      let index = this.size++;
      while (index > 0) {
        const parent = (index - 1) >> 1;
        if (!worse(score, seq, scores[parent]!, seqs[parent]!)) break;
        scores[index] = scores[parent]!;
        seqs[index] = seqs[parent]!;
        index = parent;
      }
      scores[index] = score;
      seqs[index] = seq;
      return;
    }
    if (!worse(scores[0]!, seqs[0]!, score, seq)) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= k) break;
      const right = left + 1;
      const child = right < k && worse(scores[right]!, seqs[right]!, scores[left]!, seqs[left]!) ? right : left;
      if (!worse(scores[child]!, seqs[child]!, score, seq)) break;
      scores[index] = scores[child]!;
      seqs[index] = seqs[child]!;
      index = child;
    }
    scores[index] = score;
    seqs[index] = seq;
  }

  /** The k-th best score (the lowest kept); -Infinity until k were offered. */
  threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0]!;
  }

  /** Best first; equal scores by seq. */
  sorted(): LexicalHit[] {
    const hits: LexicalHit[] = [];
    for (let index = 0; index < this.size; index++) hits.push({ seq: this.seqs[index]!, score: this.scores[index]! });
    return hits.sort((left, right) => right.score - left.score || left.seq - right.seq);
  }
}

/** Whether (scoreA, seqA) ranks below (scoreB, seqB). */
function worse(scoreA: number, seqA: number, scoreB: number, seqB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && seqA > seqB);
}

/** Levenshtein distance, giving up (returning `limit + 1`) once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length]!;
}
