import { isMainThread } from 'node:worker_threads';
import pg from 'pg';
import type { PaperEmbedder } from '../../embeddings/types.js';
import { UserError, describeError } from '../../errors.js';
import { normalizeTitle, type Paper } from '../../papers/paper.js';
import { stemmedTerms } from '../../text/analysis.js';
import { definedOnly } from '../../util/options.js';
import type {
  AddOptions,
  AddResult,
  BulkGraph,
  Library,
  LibraryStats,
  PaperMatch,
  RetrievedPaper,
  TermStatistics,
} from '../library.js';
import {
  chooseResolved,
  EMPTY_LIBRARY_MESSAGE,
  idsMeant,
  NO_NAME_MESSAGE,
  rankByTitle,
  type RankedPaper,
} from '../lookup.js';
import { startBulkVectorIndex } from './bulkIndex.js';
import { andPrefixQuery, bm25Matches, bm25Search, orQuery } from './lexicalSearch.js';
import { connectionSettings, nearestIds, nearestPapers } from './vectorSearch.js';
import { PREVIOUS_TABLE_NAME } from './migration.js';
import { createSchema, reportMigration } from './schema.js';
import {
  DEFAULT_POSTGRES_LIBRARY_OPTIONS,
  queryRows,
  tablesOf,
  type PaperRow,
  type PostgresLibraryDefaults,
  type PostgresLibraryOptions,
  type PostgresStore,
  type Tables,
} from './store.js';
import { addPapers } from './writes.js';

export { DEFAULT_POSTGRES_LIBRARY_OPTIONS, type PostgresLibraryOptions } from './store.js';

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
 * see `migration.ts`.
 */

export class PostgresLibrary implements Library {
  private readonly store: PostgresStore;

  private constructor(
    pool: pg.Pool,
    tables: Tables,
    readonly embedder: PaperEmbedder,
    settings: PostgresLibraryOptions & PostgresLibraryDefaults,
  ) {
    this.store = { pool, tables, embedder, settings, fuzzy: false, paperCountHint: 0, closed: false };
  }

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
      options: connectionSettings(settings.efSearch),
    });
    // An idle client losing its server (a database restart) must not crash the bot; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: describeError(error) }, 'PostgreSQL connection lost'));
    const library = new PostgresLibrary(pool, tablesOf(tableName), embedder, settings);
    try {
      const { fuzzy, migration } = await createSchema(library.store);
      library.store.fuzzy = fuzzy;
      reportMigration(library.store, migration);
      const papers = await library.count();
      logger.debug({ table: tableName, papers }, 'PostgreSQL library opened');
      await warnWhenIndexOutgrowsMemory(library.store);
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
    const result = await queryRows<{ papers: string }>(this.store, `SELECT papers FROM ${this.store.tables.totals}`);
    return Number(result.rows[0]?.papers ?? 0);
  }

  async get(id: string): Promise<Paper | undefined> {
    const result = await queryRows<PaperRow>(
      this.store,
      `SELECT paper FROM ${this.store.tables.papers} WHERE id = $1`,
      [id],
    );
    return result.rows[0]?.paper;
  }

  async getByTitle(title: string): Promise<Paper | undefined> {
    const result = await queryRows<PaperRow>(
      this.store,
      `SELECT paper FROM ${this.store.tables.papers} WHERE title_key = $1 ORDER BY seq LIMIT 1`,
      [normalizeTitle(title)],
    );
    return result.rows[0]?.paper;
  }

  async recent(limit: number): Promise<Paper[]> {
    const result = await queryRows<PaperRow>(
      this.store,
      `SELECT paper FROM ${this.store.tables.papers} ORDER BY seq DESC LIMIT $1`,
      [limit],
    );
    return result.rows.map((row) => row.paper);
  }

  async all(): Promise<Paper[]> {
    const result = await queryRows<PaperRow>(this.store, `SELECT paper FROM ${this.store.tables.papers} ORDER BY seq`);
    return result.rows.map((row) => row.paper);
  }

  /** Read live: there is nothing to take. */
  async refresh(): Promise<void> {}

  add(incoming: readonly Paper[], options: AddOptions = {}): Promise<AddResult> {
    return addPapers(this.store, incoming, options);
  }

  async vectorSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    if (k <= 0) return [];
    return nearestPapers(this.store, await this.store.embedder.embeddings.embedQuery(query), k);
  }

  /** As `vectorSearch`, paper ids only: a retriever fusing 100 candidates reads only the papers it returns. */
  async vectorMatches(query: string, k: number): Promise<PaperMatch[]> {
    if (k <= 0) return [];
    return nearestIds(this.store, await this.store.embedder.embeddings.embedQuery(query), k);
  }

  /** As `lexicalSearch`, paper ids only. */
  lexicalMatches(query: string, k: number): Promise<PaperMatch[]> {
    return bm25Matches(this.store, query, k);
  }

  /** The papers with these ids, in that order; ids not in the library are skipped. */
  async getMany(ids: readonly string[]): Promise<Paper[]> {
    if (ids.length === 0) return [];
    const result = await queryRows<PaperRow & { id: string }>(
      this.store,
      `SELECT id, paper FROM ${this.store.tables.papers} WHERE id = ANY($1::text[])`,
      [[...ids]],
    );
    const papers = new Map(result.rows.map((row) => [row.id, row.paper]));
    return ids.flatMap((id) => papers.get(id) ?? []);
  }

  /**
   * BM25 over title and abstract with the local index's tuning (k1, b, title boost); query terms no paper has are
   * expanded to known terms they begin, as the local index does (see lexicalSearch.ts).
   */
  lexicalSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    return bm25Search(this.store, query, k);
  }

  async termStatistics(terms: readonly string[]): Promise<TermStatistics> {
    const [frequencies, documents] = await Promise.all([
      queryRows<{ term: string; papers: number }>(
        this.store,
        `SELECT term, papers FROM ${this.store.tables.terms} WHERE term = ANY($1::text[])`,
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
    const byId = await queryRows<PaperRow & { id: string }>(
      this.store,
      `SELECT id, paper FROM ${this.store.tables.papers} WHERE id = ANY($1::text[])`,
      [idsMeant(wanted)],
    );
    for (const id of idsMeant(wanted)) {
      const row = byId.rows.find((candidate) => candidate.id === id);
      if (row) return row.paper;
    }
    return chooseResolved(wanted, await this.rank(wanted, 5, false));
  }

  async stats(): Promise<LibraryStats> {
    const { papers, terms, totals, tableName } = this.store.tables;
    const result = await queryRows<{ papers: string; vectors: string; bytes: string }>(
      this.store,
      `SELECT (SELECT papers FROM ${totals}) AS papers,
              (SELECT count(embedding) FROM ${papers}) AS vectors,
              pg_total_relation_size($1::regclass) + pg_total_relation_size($2::regclass) AS bytes`,
      [papers, terms],
    );
    const row = result.rows[0]!;
    return {
      papers: Number(row.papers),
      vectors: Number(row.vectors),
      embedder: this.store.embedder.id,
      embedderDescription: this.store.embedder.description,
      dimension: this.store.embedder.dimension,
      bytesOnDisk: Number(row.bytes),
      vectorsSinceCheckpoint: 0,
      directory: `postgres:${tableName}`,
    };
  }

  /** A bulk ingest into a new library builds the vector index once at the end (see bulkIndex.ts). */
  startBulkGraph(): Promise<BulkGraph | undefined> {
    return startBulkVectorIndex(this.store);
  }

  /** PostgreSQL keeps its own indexes current: nothing to write. */
  async checkpoint(): Promise<void> {}

  async ping(): Promise<void> {
    await queryRows(this.store, 'SELECT 1');
  }

  /** Drops the library's tables, then closes: for throwaway libraries (eval, tests), never the one users share. */
  async drop(): Promise<void> {
    const { papers, terms, totals } = this.store.tables;
    await queryRows(this.store, `DROP TABLE IF EXISTS ${papers}, ${terms}, ${totals}`);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.store.closed) return;
    this.store.closed = true;
    await this.store.pool.end();
  }

  /**
   * Papers matching what was typed, by title first (prefix on the last word, as it is being typed), then by
   * abstract; ordered as the local lookup orders them (exact titles and short names first).
   */
  private async rank(query: string, limit: number, broaden: boolean): Promise<RankedPaper[]> {
    const { papers } = this.store.tables;
    const wanted = normalizeTitle(query);
    const words = [...new Set(stemmedTerms(query))];
    if (!wanted || words.length === 0) {
      const first = await queryRows<PaperRow>(this.store, `SELECT paper FROM ${papers} ORDER BY seq LIMIT $1`, [limit]);
      return first.rows.map((row) => ({ paper: row.paper, score: 0 }));
    }
    const search = async (tsquery: string, partial: boolean): Promise<RankedPaper[]> => {
      // Exact and short-name titles are matched by key as well: a title of stopwords only has no terms.
      const result = await queryRows<PaperRow & { score: number }>(
        this.store,
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
}

/**
 * A vector index larger than the server's shared_buffers is read from disk (or the OS cache) on every search, which
 * is what made searches slow in a 100,000-paper library on a default server. Said once per process (every library
 * worker thread opens the library too).
 */
async function warnWhenIndexOutgrowsMemory(store: PostgresStore): Promise<void> {
  const result = await queryRows<{ index_bytes: string | null; buffer_bytes: string }>(
    store,
    `SELECT pg_relation_size(to_regclass($1)) AS index_bytes, pg_size_bytes(current_setting('shared_buffers')) AS buffer_bytes`,
    [store.tables.vectorIndex],
  );
  const row = result.rows[0];
  const indexBytes = Number(row?.index_bytes ?? 0);
  const bufferBytes = Number(row?.buffer_bytes ?? 0);
  if (indexBytes <= bufferBytes) return;
  const megabytes = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MB`;
  const message =
    `the vector index of the PostgreSQL library ${store.tables.tableName} (${megabytes(indexBytes)}) is larger than the server's ` +
    `shared_buffers (${megabytes(bufferBytes)}): vector searches will wait on reads; raise shared_buffers above the index size (see docs/postgresql.md)`;
  if (isMainThread) store.settings.logger.warn(message);
  else store.settings.logger.debug(message);
}
