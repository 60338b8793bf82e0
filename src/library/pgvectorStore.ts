import { definedOnly } from '../util/options.js';
import { createHash } from 'node:crypto';
import { Document } from '@langchain/core/documents';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import pg from 'pg';
import type { PaperEmbedder } from '../embeddings/types.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { paperEmbeddingText } from './paperLibrary.js';

/**
 * Paper vectors in PostgreSQL with pgvector, through LangChain's `PGVectorStore`, so several papercord processes
 * (bot replicas, shards on several machines, the CLI) share one library. Each row holds the paper itself in its
 * metadata, so a process that starts later can load every paper another one added, not only its vector.
 *
 * Rows are keyed by a UUID derived from the paper id: adding a paper twice, from one process or two, keeps one row.
 */

/** Where one paper's vector search hit points: the paper id and cosine similarity (higher is closer). */
export interface VectorHit {
  id: string;
  score: number;
}

/**
 * What the library needs from a vector store that lives outside its generation directories. `PaperLibrary` keeps
 * HNSW files itself; this is the seam for stores shared between processes.
 */
export interface PaperVectorIndex {
  readonly kind: 'pgvector';
  /** Stores papers with their vectors; papers already present (by id) are left as they are. Returns how many were new. */
  add(papers: readonly Paper[], vectors: readonly number[][], options?: { signal?: AbortSignal }): Promise<number>;
  search(vector: readonly number[], k: number): Promise<VectorHit[]>;
  /** Every stored paper, in the order they were added (by any process). */
  papers(): Promise<Paper[]>;
  count(): Promise<number>;
  /** Resolves when the store answers a trivial query; for /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PgVectorIndexOptions {
  /** `postgres://user:password@host:port/database` (`DATABASE_URL`). */
  connectionString: string;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Table of paper rows; one per embedder vector space if several are used against one database. */
  tableName?: string;
  /** An HNSW index in PostgreSQL (pgvector ≥ 0.5); without it every search is an exact scan. */
  hnswIndex?: boolean;
  /** Candidates the PostgreSQL HNSW index visits per search; it returns at most this many rows. */
  efSearch?: number;
  /** Connections per process. */
  poolSize?: number;
}

export const DEFAULT_PGVECTOR_OPTIONS = Object.freeze({
  tableName: 'papercord_papers',
  hnswIndex: true,
  efSearch: 200,
  poolSize: 4,
});

/** What each row's jsonb metadata holds. */
interface PaperRowMetadata {
  id: string;
  title: string;
  embedder: string;
  paper: Paper;
}

/** Key of the advisory lock that serializes adds across processes (any constant; ASCII of "pcrd"). */
const ADD_LOCK_KEY = 0x70637264;

export class PgVectorIndex implements PaperVectorIndex {
  readonly kind = 'pgvector' as const;
  private closed = false;

  private constructor(
    private readonly store: PGVectorStore,
    private readonly pool: pg.Pool,
    private readonly tableName: string,
    private readonly embedder: PaperEmbedder,
  ) {}

  /** Connects, creates the extension, table and index when missing, and checks the table fits the embedder. */
  static async open(options: PgVectorIndexOptions): Promise<PgVectorIndex> {
    const settings = { ...DEFAULT_PGVECTOR_OPTIONS, ...definedOnly(options) };
    const { embedder, logger, tableName } = settings;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(tableName)) {
      throw new UserError(`pgvector table name ${JSON.stringify(tableName)} must be lower-case letters, digits and _`);
    }
    const pool = new pg.Pool({
      connectionString: settings.connectionString,
      max: settings.poolSize,
      // pgvector's default of 40 would cap a 50-candidate hybrid search at 40 rows.
      options: `-c hnsw.ef_search=${Math.trunc(settings.efSearch)}`,
    });
    // An idle client losing its server (a database restart) must not crash the bot; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: describeError(error) }, 'PostgreSQL connection lost'));
    let store: PGVectorStore | undefined;
    try {
      store = await PGVectorStore.initialize(embedder.embeddings, {
        pool,
        tableName,
        dimensions: embedder.dimension,
        distanceStrategy: 'cosine',
      });
      // PGVectorStore keeps one client checked out for its lifetime; unlike idle pool clients, its errors (a database
      // restart, an administrator ending the session) would be unhandled 'error' events that end the process.
      store.client?.on('error', (error) => logger.warn({ err: describeError(error) }, 'PostgreSQL connection lost'));
      const index = new PgVectorIndex(store, pool, tableName, embedder);
      await index.checkCompatible();
      if (settings.hnswIndex) await index.ensureHnswIndex();
      logger.info({ table: tableName, papers: await index.count() }, 'pgvector library opened');
      return index;
    } catch (error) {
      if (store) await store.end().catch(() => undefined);
      else await pool.end().catch(() => undefined);
      if (error instanceof UserError) throw error;
      throw new UserError(`could not open the pgvector library (${describeError(error)}); check DATABASE_URL and that the vector extension is installed`, {
        cause: error,
      });
    }
  }

  async add(papers: readonly Paper[], vectors: readonly number[][], options: { signal?: AbortSignal } = {}): Promise<number> {
    this.assertOpen();
    if (papers.length !== vectors.length) throw new Error(`got ${papers.length} papers but ${vectors.length} vectors`);
    for (const vector of vectors) {
      if (vector.length !== this.embedder.dimension) {
        throw new Error(`expected ${this.embedder.dimension} dimensions, got a vector of ${vector.length}`);
      }
    }
    if (papers.length === 0) return 0;
    options.signal?.throwIfAborted();

    // Two processes adding the same paper at once would both see it missing; the lock makes "check, then insert"
    // one step across every process sharing the database.
    const lockHolder = await this.pool.connect();
    let lockLost: unknown;
    // Idle between its two queries: a dropped connection would otherwise be an unhandled 'error' event.
    const onLockLost = (error: unknown) => (lockLost = error);
    lockHolder.on('error', onLockLost);
    try {
      await lockHolder.query('SELECT pg_advisory_lock($1)', [ADD_LOCK_KEY]);
      const keys = papers.map((paper) => rowKey(paper.id));
      const present = await this.pool.query<{ id: string }>(`SELECT id::text AS id FROM ${this.tableName} WHERE id = ANY($1::uuid[])`, [keys]);
      const stored = new Set(present.rows.map((row) => row.id));
      const fresh = new Set<string>();
      const wanted = papers.flatMap((paper, index) => {
        const key = keys[index]!;
        if (stored.has(key) || fresh.has(key)) return [];
        fresh.add(key);
        return [{ paper, vector: [...vectors[index]!], key }];
      });
      options.signal?.throwIfAborted();
      if (wanted.length > 0) {
        await this.store.addVectors(
          wanted.map((row) => row.vector),
          wanted.map((row) => toDocument(row.paper, this.embedder.id)),
          { ids: wanted.map((row) => row.key) },
        );
      }
      return wanted.length;
    } finally {
      await lockHolder.query('SELECT pg_advisory_unlock($1)', [ADD_LOCK_KEY]).catch(() => undefined);
      lockHolder.off('error', onLockLost);
      // A broken connection is discarded rather than handed to the next query.
      lockHolder.release(lockLost instanceof Error ? lockLost : undefined);
    }
  }

  async search(vector: readonly number[], k: number): Promise<VectorHit[]> {
    this.assertOpen();
    if (k <= 0) return [];
    const results = await this.store.similaritySearchVectorWithScore([...vector], k);
    // Cosine distance, as hnswlib's cosine space reports it: similarity is 1 - distance on both stores.
    return results.map(([document, distance]) => ({ id: String(document.metadata.id), score: 1 - distance }));
  }

  async papers(): Promise<Paper[]> {
    this.assertOpen();
    // ctid order is insertion order for a table that is only appended to, which this one is.
    const result = await this.pool.query<{ metadata: PaperRowMetadata }>(`SELECT metadata FROM ${this.tableName} ORDER BY ctid`);
    return result.rows.map((row) => row.metadata.paper);
  }

  async count(): Promise<number> {
    this.assertOpen();
    const result = await this.pool.query<{ count: string }>(`SELECT count(*) AS count FROM ${this.tableName}`);
    return Number(result.rows[0]!.count);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.pool.query('SELECT 1');
  }

  /** The LangChain store, for LangChain retrievers (`asRetriever()`). */
  get vectorStore(): PGVectorStore {
    return this.store;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the pgvector library is closed');
  }

  /** A table made for another embedder would fail on the first insert or, worse, return meaningless neighbours. */
  private async checkCompatible(): Promise<void> {
    const column = await this.pool.query<{ dimensions: number }>(
      `SELECT atttypmod AS dimensions FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`,
      [this.tableName],
    );
    const dimensions = column.rows[0]?.dimensions;
    if (dimensions !== undefined && dimensions > 0 && dimensions !== this.embedder.dimension) {
      throw new UserError(
        `pgvector table ${this.tableName} holds ${dimensions}-dimension vectors, the embedder ${this.embedder.id} makes ${this.embedder.dimension}; ` +
          'use the embedder the library was built with, or another table',
      );
    }
    const other = await this.pool.query<{ embedder: string; papers: string }>(
      `SELECT metadata->>'embedder' AS embedder, count(*) AS papers FROM ${this.tableName}
       WHERE metadata->>'embedder' IS DISTINCT FROM $1 GROUP BY 1 LIMIT 1`,
      [this.embedder.id],
    );
    const mismatch = other.rows[0];
    if (mismatch) {
      throw new UserError(
        `pgvector table ${this.tableName} holds ${mismatch.papers} papers embedded by ${mismatch.embedder}, the configured embedder is ${this.embedder.id}; ` +
          'use the embedder the library was built with, or another table',
      );
    }
  }

  private async ensureHnswIndex(): Promise<void> {
    // PGVectorStore.createHnswIndex logs failures to the console and carries on; an explicit statement fails loudly.
    await this.pool.query(
      `CREATE INDEX IF NOT EXISTS ${this.tableName}_embedding_hnsw ON ${this.tableName} USING hnsw (embedding vector_cosine_ops)`,
    );
  }
}

/** A stable UUID for a paper id (PGVectorStore's id column is a uuid): same paper, same row, in every process. */
export function rowKey(paperId: string): string {
  const hex = createHash('sha256').update(`papercord:${paperId}`).digest('hex');
  // Version 8 (custom) and the RFC 4122 variant, so the value is a well-formed UUID.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function toDocument(paper: Paper, embedderId: string): Document<PaperRowMetadata> {
  return new Document({
    pageContent: paperEmbeddingText(paper),
    metadata: { id: paper.id, title: paper.title, embedder: embedderId, paper },
  });
}
