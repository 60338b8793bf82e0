import pg from 'pg';
import type { PaperEmbedder } from '../embeddings/types.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { normalizeTitle, type Paper } from '../papers/paper.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import { DEFAULT_LEXICAL_TUNING } from '../text/bm25.js';
import { definedOnly } from '../util/options.js';
import type { AddOptions, AddResult, Library, LibraryStats, RetrievedPaper, TermStatistics } from './library.js';
import {
  chooseResolved,
  EMPTY_LIBRARY_MESSAGE,
  idsMeant,
  NO_NAME_MESSAGE,
  rankByTitle,
  type RankedPaper,
} from './lookup.js';
import { embedPapers, planAdd, vectorsOfNewPapers, type FindStored } from './addPlan.js';
import {
  migrateLegacyTable,
  PREVIOUS_TABLE_NAME,
  type LegacyMigrationResult,
  type LegacyRow,
} from './postgresMigration.js';

/**
 * The whole library in PostgreSQL (`VECTOR_STORE=pgvector`): papers, their lexical index and their vectors, read
 * live by every process on every machine that shares the database. Opening reads one row, so a process starts in
 * constant time, and no process holds a copy of the library.
 *
 * - **Papers**: one row each, the paper as jsonb, in insertion order (`seq`).
 * - **Lexical index**: papercord's own analysis (Porter stems, stopwords, hyphen-joined compounds, chat shorthand),
 *   computed once per paper and stored as text, from which PostgreSQL generates a weighted `tsvector` (title A,
 *   abstract B) with a GIN index. The GIN index finds candidates; BM25 over title and abstract (as the local index
 *   scores them) is computed in SQL from the tsvector's term positions.
 * - **Term statistics**: a table of document frequencies per term plus one row of totals, updated in the transaction
 *   that inserts the papers. BM25 and abstention both read it: one source.
 * - **Vectors**: a pgvector column with an HNSW index (cosine).
 *
 * Adds take a transaction-scoped advisory lock, so "is it new? then insert" is one step across all processes.
 * Opening takes it too, and upgrades a library of the previous layout (LangChain's `PGVectorStore` table) in place:
 * see `postgresMigration.ts`.
 */

export interface PostgresLibraryOptions {
  /** `postgres://user:password@host:port/database` (`DATABASE_URL`). */
  connectionString: string;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Name of the papers table; the term table and the totals row use it as a prefix. */
  tableName?: string;
  /** Candidates the PostgreSQL HNSW index visits per search; it returns at most this many rows. */
  efSearch?: number;
  /** Connections per process (each worker thread opens its own library). */
  poolSize?: number;
  /** Papers per embedding call while adding. */
  embedBatchSize?: number;
  /**
   * The table of the previous layout (LangChain's `PGVectorStore`) upgraded into this library on open, if it exists.
   * Default: `papercord_papers` for the default library, none for a library of another name (eval's throwaway tables).
   */
  previousTableName?: string;
  /** Test hook, called after each batch of an upgrade from the previous layout is inserted. */
  onMigrationBatch?: () => void | Promise<void>;
}

type PostgresLibraryDefaults = Required<
  Pick<PostgresLibraryOptions, 'tableName' | 'efSearch' | 'poolSize' | 'embedBatchSize'>
>;

export const DEFAULT_POSTGRES_LIBRARY_OPTIONS: Readonly<PostgresLibraryDefaults> = Object.freeze({
  tableName: 'papercord_library',
  efSearch: 200,
  poolSize: 4,
  embedBatchSize: 32,
});

/** Key of the advisory lock that serializes adds across processes (any constant; ASCII of "pcrd"). */
const ADD_LOCK_KEY = 0x70637264;
/** minisearch's weights for prefix and fuzzy expansions of an unknown query term, which the local index applies. */
const PREFIX_WEIGHT = 0.375;
const FUZZY_WEIGHT = 0.45;
/** minisearch's cap on the edit distance of a fuzzy match. */
const MAX_FUZZY = 6;
/**
 * Known terms one unknown query term expands to, most frequent first (minisearch takes them all; a short prefix in a
 * 100,000-paper vocabulary would match thousands).
 */
const MAX_EXPANSIONS = 50;
/** A query term held by at most this share of papers makes the papers holding it candidates (see `candidateTerms`). */
const RARE_TERM_SHARE = 0.05;
/** Libraries this large take their BM25 candidates from the rarer query terms only. */
const PRUNE_FROM = 1_000;

interface PaperRow {
  paper: Paper;
}

export class PostgresLibrary implements Library {
  private closed = false;
  /** `fuzzystrmatch` is installed: misspelled query words are matched as the local index matches them. */
  private fuzzy = false;
  /** Papers in the library as of the last query that read the totals (it only grows). */
  private paperCountHint = 0;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
    readonly embedder: PaperEmbedder,
    private readonly settings: PostgresLibraryOptions & PostgresLibraryDefaults,
  ) {}

  /** Connects, creates the tables and indexes when missing, and checks the library was built by this embedder. */
  static async open(options: PostgresLibraryOptions): Promise<PostgresLibrary> {
    const settings = { ...DEFAULT_POSTGRES_LIBRARY_OPTIONS, ...definedOnly(options) };
    const { embedder, logger, tableName } = settings;
    // Only the default library is where the previous version's papers go; eval's throwaway tables start empty.
    settings.previousTableName ??=
      tableName === DEFAULT_POSTGRES_LIBRARY_OPTIONS.tableName ? PREVIOUS_TABLE_NAME : undefined;
    if (settings.previousTableName !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(settings.previousTableName)) {
      throw new UserError(
        `PostgreSQL table name ${JSON.stringify(settings.previousTableName)} must be lower-case letters, digits and _`,
      );
    }
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(tableName)) {
      throw new UserError(
        `PostgreSQL table name ${JSON.stringify(tableName)} must be lower-case letters, digits and _ (at most 41)`,
      );
    }
    const pool = new pg.Pool({
      connectionString: settings.connectionString,
      max: settings.poolSize,
      // pgvector's default of 40 would cap a 100-candidate hybrid search at 40 rows.
      options: `-c hnsw.ef_search=${Math.trunc(settings.efSearch)}`,
    });
    // An idle client losing its server (a database restart) must not crash the bot; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: describeError(error) }, 'PostgreSQL connection lost'));
    const library = new PostgresLibrary(pool, tablesOf(tableName), embedder, settings);
    try {
      const { fuzzy, migration } = await library.createSchema();
      library.fuzzy = fuzzy;
      library.reportMigration(migration);
      const papers = await library.count();
      logger.info({ table: tableName, papers }, 'PostgreSQL library opened');
      return library;
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof UserError) throw error;
      throw new UserError(
        `could not open the PostgreSQL library (${describeError(error)}); check DATABASE_URL and that the vector extension is installed`,
        {
          cause: error,
        },
      );
    }
  }

  async count(): Promise<number> {
    const result = await this.query<{ papers: string }>(`SELECT papers FROM ${this.tables.totals}`);
    return Number(result.rows[0]?.papers ?? 0);
  }

  async get(id: string): Promise<Paper | undefined> {
    const result = await this.query<PaperRow>(`SELECT paper FROM ${this.tables.papers} WHERE id = $1`, [id]);
    return result.rows[0]?.paper;
  }

  async getByTitle(title: string): Promise<Paper | undefined> {
    const result = await this.query<PaperRow>(
      `SELECT paper FROM ${this.tables.papers} WHERE title_key = $1 ORDER BY seq LIMIT 1`,
      [normalizeTitle(title)],
    );
    return result.rows[0]?.paper;
  }

  async recent(limit: number): Promise<Paper[]> {
    const result = await this.query<PaperRow>(`SELECT paper FROM ${this.tables.papers} ORDER BY seq DESC LIMIT $1`, [
      limit,
    ]);
    return result.rows.map((row) => row.paper);
  }

  async all(): Promise<Paper[]> {
    const result = await this.query<PaperRow>(`SELECT paper FROM ${this.tables.papers} ORDER BY seq`);
    return result.rows.map((row) => row.paper);
  }

  /** Read live: there is nothing to take. */
  async refresh(): Promise<void> {}

  async add(incoming: readonly Paper[], options: AddOptions = {}): Promise<AddResult> {
    this.assertOpen();
    const { signal, prepared } = options;
    signal?.throwIfAborted();
    // Embedding is the slow part and must not hold the lock that every other process's adds wait for: first find
    // what looks new and embed it, then, under the lock, plan again against what is stored now and write that.
    const firstLook = planAdd(incoming, await this.stored(incoming));
    const vectors = new Map<string, ArrayLike<number>>();
    const embedNew = async (papers: readonly Paper[]) => {
      const found = await vectorsOfNewPapers(papers, prepared, this.embedding(signal));
      papers.forEach((paper, index) => vectors.set(paper.id, found[index]!));
    };
    await embedNew(firstLook.fresh);
    signal?.throwIfAborted();

    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
      const plan = planAdd(incoming, await this.stored(incoming, client));
      // New since the first look and not embedded yet: rare (papers are only ever added), but embedded here rather
      // than lost.
      await embedNew(plan.fresh.filter((paper) => !vectors.has(paper.id)));
      for (const paper of plan.updates)
        await client.query(`UPDATE ${this.tables.papers} SET paper = $2 WHERE id = $1`, [paper.id, paper]);
      if (plan.fresh.length > 0)
        await this.insert(
          client,
          plan.fresh,
          plan.fresh.map((paper) => vectors.get(paper.id)!),
        );
      await client.query('COMMIT');
      return { added: plan.fresh, existing: plan.existing, stored: plan.stored };
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError as Error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async vectorSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    if (k <= 0) return [];
    const vector = await this.embedder.embeddings.embedQuery(query);
    const result = await this.query<PaperRow & { distance: number }>(
      `SELECT paper, embedding <=> $1::vector AS distance FROM ${this.tables.papers} ORDER BY embedding <=> $1::vector LIMIT $2`,
      [vectorLiteral(vector), k],
    );
    // Cosine distance, as hnswlib's cosine space reports it: similarity is 1 - distance in both stores.
    return result.rows.map((row) => ({ paper: row.paper, score: 1 - row.distance }));
  }

  /**
   * BM25 over title and abstract with the local index's tuning (k1, b, title boost): the GIN index finds the papers
   * holding any query term, their tsvector positions give term frequencies (weight A: in the title), the term table
   * gives document frequencies. Query terms no paper has are expanded to known terms they begin, as the local index does.
   */
  async lexicalSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    if (k <= 0) return [];
    const { k1, b, titleBoost } = DEFAULT_LEXICAL_TUNING;
    const weighted = await this.weightedQueryTerms(query);
    if (weighted.length === 0) return [];
    const { terms: termTable, papers, totals } = this.tables;
    const result = await this.query<PaperRow & { score: number }>(
      `WITH params AS (SELECT $4::float8 AS k1, $5::float8 AS b, $6::float8 AS title_boost),
       query(term, weight) AS (SELECT * FROM unnest($1::text[], $2::float8[])),
       totals AS (SELECT papers, text_length, title_length FROM ${totals}),
       idf AS (
         SELECT query.term, query.weight,
                ln(1 + (totals.papers - t.papers + 0.5) / (t.papers + 0.5)) AS text_idf,
                ln(1 + (totals.papers - t.title_papers + 0.5) / (t.title_papers + 0.5)) AS title_idf,
                totals.text_length::float8 / greatest(totals.papers, 1) AS text_avg,
                greatest(totals.title_length::float8 / greatest(totals.papers, 1), 1) AS title_avg
         FROM query JOIN ${termTable} t USING (term), totals),
       matched AS (
         SELECT p.seq, p.text_length, p.title_length, cardinality(u.positions) AS tf,
                (SELECT count(*) FROM unnest(u.weights) w WHERE w = 'A') AS title_tf, u.lexeme
         FROM ${papers} p, unnest(p.terms) u
         WHERE p.terms @@ $3::tsquery AND u.lexeme = ANY($1::text[])),
       scored AS (
         SELECT matched.seq, sum(idf.weight * (
                  idf.text_idf * matched.tf * (p.k1 + 1) / (matched.tf + p.k1 * (1 - p.b + p.b * matched.text_length / idf.text_avg))
                  + CASE WHEN matched.title_tf > 0 THEN p.title_boost * idf.title_idf * matched.title_tf * (p.k1 + 1)
                         / (matched.title_tf + p.k1 * (1 - p.b + p.b * matched.title_length / idf.title_avg)) ELSE 0 END
                )) AS score
         FROM matched JOIN idf ON idf.term = matched.lexeme, params p
         GROUP BY matched.seq ORDER BY score DESC, matched.seq LIMIT $7::int)
       SELECT p.paper, scored.score FROM scored JOIN ${papers} p USING (seq) ORDER BY scored.score DESC, scored.seq`,
      [
        weighted.map((entry) => entry.term),
        weighted.map((entry) => entry.weight),
        orQuery(this.candidateTerms(weighted, k)),
        k1,
        b,
        titleBoost,
        k,
      ],
    );
    return result.rows.map((row) => ({ paper: row.paper, score: row.score }));
  }

  async termStatistics(terms: readonly string[]): Promise<TermStatistics> {
    const [frequencies, documents] = await Promise.all([
      this.query<{ term: string; papers: number }>(
        `SELECT term, papers FROM ${this.tables.terms} WHERE term = ANY($1::text[])`,
        [[...terms]],
      ),
      this.count(),
    ]);
    return { documents, frequencies: new Map(frequencies.rows.map((row) => [row.term, row.papers])) };
  }

  async suggest(query: string, limit: number): Promise<Paper[]> {
    return (await this.rank(query, limit, true)).map((hit) => hit.paper);
  }

  async resolve(nameOrId: string): Promise<Paper> {
    const wanted = nameOrId.trim();
    if ((await this.count()) === 0) throw new UserError(EMPTY_LIBRARY_MESSAGE);
    if (!wanted) throw new UserError(NO_NAME_MESSAGE);
    const byId = await this.query<PaperRow & { id: string }>(
      `SELECT id, paper FROM ${this.tables.papers} WHERE id = ANY($1::text[])`,
      [idsMeant(wanted)],
    );
    for (const id of idsMeant(wanted)) {
      const row = byId.rows.find((candidate) => candidate.id === id);
      if (row) return row.paper;
    }
    return chooseResolved(wanted, await this.rank(wanted, 5, false));
  }

  async stats(): Promise<LibraryStats> {
    const { papers, terms, totals, tableName } = this.tables;
    const result = await this.query<{ papers: string; vectors: string; bytes: string }>(
      `SELECT (SELECT papers FROM ${totals}) AS papers,
              (SELECT count(embedding) FROM ${papers}) AS vectors,
              pg_total_relation_size($1::regclass) + pg_total_relation_size($2::regclass) AS bytes`,
      [papers, terms],
    );
    const row = result.rows[0]!;
    return {
      papers: Number(row.papers),
      vectors: Number(row.vectors),
      embedder: this.embedder.id,
      embedderDescription: this.embedder.description,
      dimension: this.embedder.dimension,
      bytesOnDisk: Number(row.bytes),
      vectorsSinceCheckpoint: 0,
      directory: `postgres:${tableName}`,
    };
  }

  /** PostgreSQL keeps its own indexes current: nothing to write. */
  async checkpoint(): Promise<void> {}

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** Drops the library's tables, then closes: for throwaway libraries (eval, tests), never the one users share. */
  async drop(): Promise<void> {
    const { papers, terms, totals } = this.tables;
    await this.query(`DROP TABLE IF EXISTS ${papers}, ${terms}, ${totals}`);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the PostgreSQL library is closed');
  }

  private query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    this.assertOpen();
    return this.pool.query<Row>(text, values);
  }

  /**
   * Papers matching what was typed, by title first (prefix on the last word, as it is being typed), then by
   * abstract; ordered as the local lookup orders them (exact titles and short names first).
   */
  private async rank(query: string, limit: number, broaden: boolean): Promise<RankedPaper[]> {
    const { papers } = this.tables;
    const wanted = normalizeTitle(query);
    const words = [...new Set(stemmedTerms(query))];
    if (!wanted || words.length === 0) {
      const first = await this.query<PaperRow>(`SELECT paper FROM ${papers} ORDER BY seq LIMIT $1`, [limit]);
      return first.rows.map((row) => ({ paper: row.paper, score: 0 }));
    }
    const search = async (tsquery: string, partial: boolean): Promise<RankedPaper[]> => {
      // Exact and short-name titles are matched by key as well: a title of stopwords only has no terms.
      const result = await this.query<PaperRow & { score: number }>(
        `SELECT paper, ts_rank(terms, $1::tsquery, 1) + CASE WHEN title_key = $2 OR short_key = $2 THEN 1 ELSE 0 END AS score
         FROM ${papers} WHERE terms @@ $1::tsquery OR title_key = $2 OR short_key = $2
         ORDER BY score DESC, seq LIMIT $3`,
        [tsquery, wanted, Math.max(limit, 25)],
      );
      return result.rows.map((row) => ({ paper: row.paper, score: row.score, partial }));
    };
    // Every word, the last one possibly half typed.
    const all = await search(andPrefixQuery(words), false);
    let found = all;
    if (broaden || all.length === 0) {
      const seen = new Set(all.map((hit) => hit.paper.id));
      // Shrunk so that partial matches rank below every full match.
      const scale = all.length > 0 ? 1e-6 : 1;
      const some = (await search(orQuery(words), true)).filter((hit) => !seen.has(hit.paper.id));
      found = [...all, ...some.map((hit) => ({ ...hit, score: hit.score * scale }))];
    }
    return rankByTitle(query, found).slice(0, limit);
  }

  /**
   * The query's terms with their weights, as the local index weighs them: each distinct analyzed term (filler
   * dropped) at 1; a query word no paper has is replaced by the known terms it begins (prefix weight) and those
   * within a small edit distance (fuzzy weight, with `fuzzystrmatch`), so `hypernet` finds `hypernetwork`.
   */
  /**
   * The terms whose papers are candidates (every candidate is scored on all query terms): the rarer ones, those in at
   * most RARE_TERM_SHARE of papers, then the next rarest until they hold `k` papers. Reading the term positions of
   * every paper that says "model" or "cell" is what made a query slow, and a paper holding only such words rarely
   * outranks one holding a rare word of the query. A library under PRUNE_FROM papers scores every paper holding any
   * query term, exactly as the local index does.
   */
  private candidateTerms(weighted: ReadonlyArray<{ term: string; papers: number }>, k: number): string[] {
    if (this.paperCountHint < PRUNE_FROM) return [...new Set(weighted.map((entry) => entry.term))];
    const chosen = new Set<string>();
    let papers = 0;
    for (const entry of [...weighted].sort((left, right) => left.papers - right.papers)) {
      if (papers >= k && entry.papers > RARE_TERM_SHARE * this.paperCountHint) break;
      chosen.add(entry.term);
      papers += entry.papers;
    }
    return [...chosen];
  }

  private async weightedQueryTerms(query: string): Promise<Array<{ term: string; weight: number; papers: number }>> {
    const { prefixMinLength, fuzzyMinLength, fuzziness, dropFiller } = DEFAULT_LEXICAL_TUNING;
    const terms = [...new Set(stemmedTerms(query).filter((term) => !(dropFiller && FILLER_TERMS.has(term))))];
    if (terms.length === 0) return [];
    const words = queryTerms(query);
    const known = await this.query<{ term: string; papers: number; total: string }>(
      `SELECT term, papers, (SELECT papers FROM ${this.tables.totals}) AS total FROM ${this.tables.terms} WHERE term = ANY($1::text[])`,
      [[...terms, ...words]],
    );
    const knownTerms = new Map(known.rows.map((row) => [row.term, row.papers]));
    if (known.rows[0]) this.paperCountHint = Number(known.rows[0].total);
    const unknown = new Set(words.filter((word) => !knownTerms.has(word)));
    const weighted: Array<{ term: string; weight: number; papers: number }> = [];
    for (const term of terms) {
      const papers = knownTerms.get(term);
      if (papers !== undefined) weighted.push({ term, weight: 1, papers });
      if (!unknown.has(term)) continue;
      const prefixed = prefixMinLength > 0 && term.length >= prefixMinLength ? await this.prefixExpansions(term) : [];
      for (const { term: expansion, papers } of prefixed) {
        const weight = (PREFIX_WEIGHT * expansion.length) / (expansion.length + 0.3 * (expansion.length - term.length));
        weighted.push({ term: expansion, weight, papers });
      }
      const maxDistance = Math.min(MAX_FUZZY, Math.round(term.length * fuzziness));
      if (fuzzyMinLength > 0 && term.length >= fuzzyMinLength && maxDistance > 0 && this.fuzzy) {
        const prefixes = new Set(prefixed.map((entry) => entry.term));
        for (const { term: near, distance, papers } of await this.fuzzyExpansions(term, maxDistance)) {
          // A term found both ways counts once, as a prefix.
          if (!prefixes.has(near))
            weighted.push({ term: near, weight: (FUZZY_WEIGHT * near.length) / (near.length + distance), papers });
        }
      }
    }
    return weighted;
  }

  private async prefixExpansions(word: string): Promise<Array<{ term: string; papers: number }>> {
    const result = await this.query<{ term: string; papers: number }>(
      `SELECT term, papers FROM ${this.tables.terms} WHERE term LIKE $1 AND term <> $2 ORDER BY papers DESC LIMIT $3`,
      [`${word.replace(/[\\%_]/g, (char) => `\\${char}`)}%`, word, MAX_EXPANSIONS],
    );
    return result.rows;
  }

  private async fuzzyExpansions(
    word: string,
    maxDistance: number,
  ): Promise<Array<{ term: string; distance: number; papers: number }>> {
    const result = await this.query<{ term: string; distance: number; papers: number }>(
      `SELECT term, distance, papers FROM (
         SELECT term, papers, levenshtein_less_equal(term, $1, $2) AS distance FROM ${this.tables.terms}
         WHERE length(term) BETWEEN $3 AND $4) near
       WHERE distance BETWEEN 1 AND $2 ORDER BY papers DESC LIMIT $5`,
      [word, maxDistance, word.length - maxDistance, word.length + maxDistance, MAX_EXPANSIONS],
    );
    return result.rows;
  }

  /** The stored papers matching `papers` by id or normalized title, read in one query. */
  private async stored(papers: readonly Paper[], client: pg.Pool | pg.PoolClient = this.pool): Promise<FindStored> {
    this.assertOpen();
    if (papers.length === 0) return () => undefined;
    const result = await client.query<PaperRow & { title_key: string }>(
      `SELECT paper, title_key FROM ${this.tables.papers} WHERE id = ANY($1::text[]) OR title_key = ANY($2::text[])`,
      [papers.map((paper) => paper.id), papers.map(titleKey)],
    );
    const byId = new Map(result.rows.map((row) => [row.paper.id, row.paper]));
    const byTitle = new Map<string, Paper>();
    // The first added, as `getByTitle` finds it.
    for (const row of [...result.rows].reverse()) byTitle.set(row.title_key, row.paper);
    return (paper) => byId.get(paper.id) ?? byTitle.get(titleKey(paper));
  }

  private embedding(signal?: AbortSignal) {
    const { embedder, settings } = this;
    return { embedder, batchSize: settings.embedBatchSize, logger: settings.logger, ...(signal ? { signal } : {}) };
  }

  /**
   * Inserts new papers, their term frequencies and the totals, in the caller's transaction. A paper's vector is
   * given, or (`copyFrom`, when upgrading the previous layout) copied inside the database from that table's row.
   */
  private async insert(
    client: pg.PoolClient,
    papers: readonly Paper[],
    vectors: ReadonlyArray<ArrayLike<number> | null>,
    copyFrom?: { table: string; rowIds: ReadonlyArray<string | null> },
  ): Promise<void> {
    const { papers: table, terms, totals } = this.tables;
    // BM25's field lengths count distinct terms, as minisearch (the local index) counts them.
    const analyzed = papers.map((paper) => {
      const titleTerms = stemmedTerms(paper.title);
      const abstractTerms = stemmedTerms(paper.abstract);
      return {
        titleTerms,
        abstractTerms,
        titleLength: new Set(titleTerms).size,
        textLength: new Set([...titleTerms, ...abstractTerms]).size,
      };
    });
    const columns = 'id, title_key, short_key, paper, title_terms, abstract_terms, title_length, text_length';
    const rows =
      'unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::int[], $9::vector[]';
    await client.query(
      copyFrom
        ? `INSERT INTO ${table} (${columns}, embedding)
           SELECT ${columns
             .split(', ')
             .map((column) => `u.${column}`)
             .join(', ')}, coalesce(u.embedding, previous.embedding)
           FROM ${rows}, $10::uuid[]) WITH ORDINALITY AS u(${columns}, embedding, row_id, position)
           LEFT JOIN ${copyFrom.table} previous ON previous.id = u.row_id ORDER BY u.position`
        : `INSERT INTO ${table} (${columns}, embedding) SELECT * FROM ${rows})`,
      [
        papers.map((paper) => paper.id),
        papers.map(titleKey),
        papers.map((paper) => shortKey(paper.title)),
        papers.map((paper) => JSON.stringify(paper)),
        analyzed.map((entry) => entry.titleTerms.join(' ')),
        analyzed.map((entry) => entry.abstractTerms.join(' ')),
        analyzed.map((entry) => entry.titleLength),
        analyzed.map((entry) => entry.textLength),
        vectors.map((vector) => (vector ? vectorLiteral(vector) : null)),
        ...(copyFrom ? [copyFrom.rowIds] : []),
      ],
    );
    const frequencies = new Map<string, { papers: number; titlePapers: number }>();
    for (const { titleTerms, abstractTerms } of analyzed) {
      const inTitle = new Set(titleTerms);
      for (const term of new Set([...titleTerms, ...abstractTerms])) {
        const entry = frequencies.get(term) ?? { papers: 0, titlePapers: 0 };
        entry.papers += 1;
        if (inTitle.has(term)) entry.titlePapers += 1;
        frequencies.set(term, entry);
      }
    }
    await client.query(
      `INSERT INTO ${terms} (term, papers, title_papers) SELECT * FROM unnest($1::text[], $2::int[], $3::int[])
       ON CONFLICT (term) DO UPDATE SET papers = ${terms}.papers + excluded.papers, title_papers = ${terms}.title_papers + excluded.title_papers`,
      [
        [...frequencies.keys()],
        [...frequencies.values()].map((entry) => entry.papers),
        [...frequencies.values()].map((entry) => entry.titlePapers),
      ],
    );
    await client.query(
      `UPDATE ${totals} SET papers = papers + $1, title_length = title_length + $2, text_length = text_length + $3`,
      [
        papers.length,
        analyzed.reduce((sum, entry) => sum + entry.titleLength, 0),
        analyzed.reduce((sum, entry) => sum + entry.textLength, 0),
      ],
    );
  }

  /**
   * Inserts one batch of an upgrade: papers not in the library yet (by id or title), kept vectors copied from the
   * old table inside the database, the others embedded now.
   */
  private async insertLegacy(
    client: pg.PoolClient,
    previousTable: string,
    rows: readonly LegacyRow[],
  ): Promise<{ inserted: number; embedded: number }> {
    const stored = await this.stored(
      rows.map((row) => row.paper),
      client,
    );
    const seen = new Set<string>();
    const fresh = rows.filter(({ paper }) => {
      const keys = [paper.id, titleKey(paper)];
      if (stored(paper) || keys.some((key) => seen.has(key))) return false;
      keys.forEach((key) => seen.add(key));
      return true;
    });
    const toEmbed = fresh.filter((row) => !row.keepVector);
    const vectors = await embedPapers(
      toEmbed.map((row) => row.paper),
      this.embedding(),
    );
    const embedded = new Map(toEmbed.map((row, index) => [row, vectors[index]!]));
    if (fresh.length > 0) {
      await this.insert(
        client,
        fresh.map((row) => row.paper),
        fresh.map((row) => embedded.get(row) ?? null),
        { table: previousTable, rowIds: fresh.map((row) => (row.keepVector ? row.rowId : null)) },
      );
    }
    return { inserted: fresh.length, embedded: toEmbed.length };
  }

  /** One line saying what an upgrade from the previous layout did (after it committed). */
  private reportMigration(migration: LegacyMigrationResult): void {
    const { logger } = this.settings;
    const previous = this.settings.previousTableName;
    const table = this.tables.tableName;
    if (migration.kind === 'foreign') {
      logger.warn(
        `PostgreSQL table ${previous} is not a papercord library of the previous version (${migration.reason}); left as it is`,
      );
      return;
    }
    if (migration.kind !== 'migrated') return;
    const { rows, papers, kept, embedded, previousEmbedders } = migration;
    const skipped = rows - papers;
    const message =
      `upgraded the PostgreSQL library ${previous} (LangChain PGVectorStore, ${rows} rows) to ${table}: ${papers} papers, ` +
      (embedded === 0
        ? 'every vector kept'
        : `${kept} vectors kept, ${embedded} papers embedded again (built by ${previousEmbedders.join(', ')}, now ${this.embedder.id})`) +
      (skipped > 0 ? `, ${skipped} rows already in the library or without a paper` : '') +
      `; ${previous} is dropped`;
    if (embedded === 0) logger.info(message);
    else logger.warn(message);
  }

  /**
   * Creates what is missing and upgrades a library of the previous layout, in one transaction; says whether fuzzy
   * matching (`fuzzystrmatch`, a contrib extension) is available and what the upgrade did.
   */
  private async createSchema(): Promise<{ fuzzy: boolean; migration: LegacyMigrationResult }> {
    const { papers, terms, totals, tableName } = this.tables;
    const { dimension, id: embedderId } = this.embedder;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Two processes starting at once on a new database must not both create the tables.
      await client.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      let fuzzy = true;
      await client.query('SAVEPOINT fuzzy');
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS fuzzystrmatch');
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT fuzzy');
        fuzzy = false;
        this.settings.logger.warn(
          `PostgreSQL extension fuzzystrmatch is not available (${describeError(error)}); misspelled search words will not be matched. ` +
            'Install PostgreSQL contrib, or run CREATE EXTENSION fuzzystrmatch as a superuser.',
        );
      }
      await client.query(`CREATE TABLE IF NOT EXISTS ${totals} (
        embedder text NOT NULL, dimension int NOT NULL,
        papers bigint NOT NULL DEFAULT 0, title_length bigint NOT NULL DEFAULT 0, text_length bigint NOT NULL DEFAULT 0)`);
      const built = await client.query<{ embedder: string; dimension: number; papers: string }>(
        `SELECT embedder, dimension, papers FROM ${totals}`,
      );
      const library = built.rows[0];
      if (library && (library.embedder !== embedderId || library.dimension !== dimension)) {
        throw new UserError(
          `the PostgreSQL library ${tableName} holds ${library.papers} papers embedded by ${library.embedder} (${library.dimension} dimensions), ` +
            `the configured embedder is ${embedderId} (${dimension} dimensions); use the embedder the library was built with, or another table`,
        );
      }
      if (!library)
        await client.query(`INSERT INTO ${totals} (embedder, dimension) VALUES ($1, $2)`, [embedderId, dimension]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${papers} (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        title_key text NOT NULL,
        short_key text,
        paper jsonb NOT NULL,
        title_terms text NOT NULL,
        abstract_terms text NOT NULL,
        terms tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('simple', title_terms), 'A') || setweight(to_tsvector('simple', abstract_terms), 'B')) STORED,
        title_length int NOT NULL,
        text_length int NOT NULL,
        embedding vector(${Math.trunc(dimension)}) NOT NULL)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_title_key_idx ON ${papers} (title_key)`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${terms} (term text PRIMARY KEY, papers int NOT NULL, title_papers int NOT NULL)`,
      );
      // Prefix expansion of unknown query terms (`LIKE 'hypernet%'`) needs an index that orders bytes, not collation.
      await client.query(`CREATE INDEX IF NOT EXISTS ${terms}_prefix_idx ON ${terms} (term text_pattern_ops)`);
      const previousTable = this.settings.previousTableName;
      const migration = previousTable
        ? await migrateLegacyTable({
            client,
            previousTable,
            embedder: this.embedder,
            insertBatch: (rows) => this.insertLegacy(client, previousTable, rows),
            onBatch: this.settings.onMigrationBatch,
          })
        : ({ kind: 'none' } as const);
      // After an upgrade's bulk copy: building the vector and text indexes once is faster than growing them per row.
      await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_terms_idx ON ${papers} USING gin (terms)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_short_key_idx ON ${papers} (short_key)`);
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${papers}_embedding_idx ON ${papers} USING hnsw (embedding vector_cosine_ops)`,
      );
      await client.query('COMMIT');
      return { fuzzy, migration };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

interface Tables {
  tableName: string;
  papers: string;
  terms: string;
  totals: string;
}

function tablesOf(tableName: string): Tables {
  return { tableName, papers: tableName, terms: `${tableName}_terms`, totals: `${tableName}_totals` };
}

function titleKey(paper: Paper): string {
  return normalizeTitle(paper.title);
}

/** The normalized short name before a title's colon ("MrT5"), as the local lookup matches it. */
function shortKey(title: string): string | null {
  const colon = title.indexOf(':');
  return colon > 0 ? normalizeTitle(title.slice(0, colon)) : null;
}

function vectorLiteral(vector: ArrayLike<number>): string {
  return `[${Array.from(vector).join(',')}]`;
}

/** A tsquery literal: any of the terms (quoted, so no term is read as an operator). */
function orQuery(terms: readonly string[]): string {
  return terms.map(quoteTerm).join(' | ');
}

/** Every term, the last one as a prefix (it may be half typed): `'mixtur' & 'recurs':*`. */
function andPrefixQuery(terms: readonly string[]): string {
  return terms
    .map((term, index) => (index === terms.length - 1 ? `${quoteTerm(term)}:*` : quoteTerm(term)))
    .join(' & ');
}

function quoteTerm(term: string): string {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
