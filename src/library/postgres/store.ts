import type pg from 'pg';
import type { PaperEmbedder } from '../../embeddings/types.js';
import type { Logger } from '../../logger.js';
import type { EmbedPapersOptions } from '../addPlan.js';
import { DEFAULT_PAPER_TEXT_LIMITS, normalizeTitle, type Paper, type PaperTextLimits } from '../../papers/paper.js';

/**
 * What every part of the PostgreSQL library works with: the connection pool, the names of its tables, the embedder
 * and the settings it was opened with. `PostgresLibrary` owns it; schema, writes and lexical search work on it.
 */

export interface PostgresLibraryOptions {
  /** `postgres://user:password@host:port/database` (`DATABASE_URL`). */
  connectionString: string;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Name of the papers table; the term table and the totals row use it as a prefix. */
  tableName?: string;
  /** Candidates the HNSW index keeps per search (`hnsw.ef_search`; `HNSW_EF_SEARCH`). */
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
  /** Titles and abstracts longer than these are cut when added (`PAPER_MAX_TITLE_CHARS`, `PAPER_MAX_ABSTRACT_CHARS`). */
  paperTextLimits?: PaperTextLimits;
  /** Test hook, called after each batch of an upgrade from the previous layout is inserted. */
  onMigrationBatch?: () => void | Promise<void>;
}

export type PostgresLibraryDefaults = Required<
  Pick<PostgresLibraryOptions, 'tableName' | 'efSearch' | 'poolSize' | 'embedBatchSize' | 'paperTextLimits'>
>;

export const DEFAULT_POSTGRES_LIBRARY_OPTIONS: Readonly<PostgresLibraryDefaults> = Object.freeze({
  tableName: 'papercord_library',
  // HNSW_EF_SEARCH's default.
  efSearch: 128,
  poolSize: 4,
  embedBatchSize: 32,
  paperTextLimits: DEFAULT_PAPER_TEXT_LIMITS,
});

/** Key of the advisory lock that serializes adds (and opening) across processes (any constant; ASCII of "pcrd"). */
export const ADD_LOCK_KEY = 0x70637264;

export interface PaperRow {
  paper: Paper;
}

export interface PostgresStore {
  readonly pool: pg.Pool;
  readonly tables: Tables;
  readonly embedder: PaperEmbedder;
  readonly settings: PostgresLibraryOptions & PostgresLibraryDefaults;
  /** `fuzzystrmatch` is installed: misspelled query words are matched as the local index matches them. */
  fuzzy: boolean;
  /** Papers in the library as of the last query that read the totals (it only grows). */
  paperCountHint: number;
  closed: boolean;
}

export function assertOpen(store: PostgresStore): void {
  if (store.closed) throw new Error('the PostgreSQL library is closed');
}

/** A query on the pool; rejects once the library is closed. */
export function queryRows<Row extends pg.QueryResultRow>(
  store: PostgresStore,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<Row>> {
  assertOpen(store);
  return store.pool.query<Row>(text, values);
}

/** How this library embeds papers (see `embedPapers` and `vectorsOfNewPapers` in addPlan.ts). */
export function embedding(store: PostgresStore, signal?: AbortSignal): EmbedPapersOptions & { logger: Logger } {
  const { embedder, settings } = store;
  return { embedder, batchSize: settings.embedBatchSize, logger: settings.logger, ...(signal ? { signal } : {}) };
}

export interface Tables {
  tableName: string;
  papers: string;
  terms: string;
  totals: string;
  /** The HNSW index on the papers' vectors. */
  vectorIndex: string;
}

export function tablesOf(tableName: string): Tables {
  return {
    tableName,
    papers: tableName,
    terms: `${tableName}_terms`,
    totals: `${tableName}_totals`,
    vectorIndex: `${tableName}_embedding_idx`,
  };
}

export function titleKey(paper: Paper): string {
  return normalizeTitle(paper.title);
}

/** The normalized short name before a title's colon ("MrT5"), as the local lookup matches it. */
export function shortKey(title: string): string | null {
  const colon = title.indexOf(':');
  return colon > 0 ? normalizeTitle(title.slice(0, colon)) : null;
}

export function vectorLiteral(vector: ArrayLike<number>): string {
  return `[${Array.from(vector).join(',')}]`;
}
