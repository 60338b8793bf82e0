import type { Database, Statement } from 'better-sqlite3';
import SearchableMap from 'minisearch/SearchableMap';
import { FILLER_TERMS, queryTerms, stemmedTerms, type AnalyzedPaper } from '../../text/analysis.js';
import { bm25Idf, DEFAULT_LEXICAL_TUNING, TERM_EXPANSION, type LexicalTuning } from '../../text/bm25.js';
import { TopK } from '../../util/topK.js';

/**
 * Full-text index over titles and abstracts, kept in the library's SQLite database and updated incrementally.
 *
 * BM25 over the search analysis of src/text/analysis.ts with a lightly boosted title, scored exactly as the
 * minisearch index it replaced scored (per-field BM25, unknown query terms expanded by prefix and edit distance), so
 * rankings did not move. Its constants live in src/text/bm25.ts.
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

/** Recorded with the index so one tokenized differently is rebuilt instead of silently mis-searched. */
export const LEXICAL_FORMAT = 'papercord-lexical/3';

const TITLE_FIELD = 0;
const TEXT_FIELD = 1;
const FIELDS = [TITLE_FIELD, TEXT_FIELD] as const;
const { prefixWeight: PREFIX_WEIGHT, fuzzyWeight: FUZZY_WEIGHT, maxFuzzyDistance: MAX_FUZZY_DISTANCE } = TERM_EXPANSION;
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
    const sourceTerms = [
      ...new Set(stemmedTerms(query).filter((term) => !(options.dropFiller && FILLER_TERMS.has(term)))),
    ];
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
          const idf = bm25Idf(this.documents, matching);
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
    // Hoisted: V8 cannot keep fields in registers across the loop. The sum below is `bm25TermFrequencyWeight`
    // (src/text/bm25.ts) written out with its invariants hoisted: this loop is most of a query's time.
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
