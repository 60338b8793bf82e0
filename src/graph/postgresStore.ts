import type pg from 'pg';
import type { CitationGraph } from '../papers/sources/citationGraph.js';
import type { CachedGraph, GraphCache } from './store.js';

const TABLE = 'papercord_paper_graphs';

/**
 * Graphs in PostgreSQL (`VECTOR_STORE=pgvector`), beside the library: every bot process and worker thread sharing
 * the database shares the cache. One row per paper, replaced whole on each fetch, as in SQLite.
 */
export class PostgresGraphCache implements GraphCache {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(databaseUrl: string): Promise<PostgresGraphCache> {
    // Imported here, not at the top: the local library never loads the PostgreSQL driver.
    const { default: pgModule } = await import('pg');
    const pool = new pgModule.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${TABLE} (paper_key TEXT PRIMARY KEY, source TEXT NOT NULL, fetched_at TIMESTAMPTZ NOT NULL, graph JSONB NOT NULL)`,
      );
    } catch (error) {
      // Two processes creating the table at once: one wins, the other sees its type already there (23505, 42P07).
      const code = (error as { code?: string }).code;
      if (code !== '23505' && code !== '42P07') {
        await pool.end();
        throw error;
      }
    }
    return new PostgresGraphCache(pool);
  }

  async get(key: string): Promise<CachedGraph | undefined> {
    const { rows } = await this.pool.query<{ fetched_at: Date; graph: CitationGraph }>(
      `SELECT fetched_at, graph FROM ${TABLE} WHERE paper_key = $1`,
      [key],
    );
    const row = rows[0];
    return row ? { graph: row.graph, fetchedAt: row.fetched_at.toISOString() } : undefined;
  }

  async put(key: string, entry: CachedGraph): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${TABLE} (paper_key, source, fetched_at, graph) VALUES ($1, $2, $3, $4)
       ON CONFLICT (paper_key) DO UPDATE SET source = excluded.source, fetched_at = excluded.fetched_at, graph = excluded.graph`,
      [key, entry.graph.source, entry.fetchedAt, JSON.stringify(entry.graph)],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
