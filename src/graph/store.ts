import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CitationGraph } from '../papers/sources/citationGraph.js';

/** A paper's graph as last fetched. */
export interface CachedGraph {
  graph: CitationGraph;
  /** ISO 8601. */
  fetchedAt: string;
}

/** Where fetched graphs are kept between runs: SQLite under DATA_DIR; PostgreSQL mode may bring its own. */
export interface GraphCache {
  get(key: string): Promise<CachedGraph | undefined>;
  put(key: string, entry: CachedGraph): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS paper_graphs (
  paper_key  TEXT PRIMARY KEY,
  source     TEXT NOT NULL,
  fetched_at TEXT NOT NULL,
  graph      TEXT NOT NULL
);
`;

/**
 * Graphs in `DATA_DIR/graph.sqlite` (WAL), one row per paper, replaced whole on each fetch: a graph is read and
 * written as one piece, and a paper's row is a primary-key lookup whatever the size of the library.
 */
export class SqliteGraphCache implements GraphCache {
  private constructor(private readonly db: Database.Database) {}

  static open(dataDir: string): SqliteGraphCache {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(path.join(dataDir, 'graph.sqlite'));
    db.pragma('journal_mode = WAL');
    // The bot and a CLI run may share DATA_DIR; a writer waits for another instead of failing.
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new SqliteGraphCache(db);
  }

  async get(key: string): Promise<CachedGraph | undefined> {
    const row = this.db.prepare('SELECT fetched_at, graph FROM paper_graphs WHERE paper_key = ?').get(key) as
      { fetched_at: string; graph: string } | undefined;
    return row ? { graph: JSON.parse(row.graph) as CitationGraph, fetchedAt: row.fetched_at } : undefined;
  }

  async put(key: string, entry: CachedGraph): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO paper_graphs (paper_key, source, fetched_at, graph) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (paper_key) DO UPDATE SET source = excluded.source, fetched_at = excluded.fetched_at, graph = excluded.graph',
      )
      .run(key, entry.graph.source, entry.fetchedAt, JSON.stringify(entry.graph));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
